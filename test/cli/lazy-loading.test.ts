import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI } from '../support/cutover-harness.js';

/**
 * What a command loads is what it costs to start: `cutover --help` and a
 * plain `cutover migrate lint` must not pay for the server (fastify, SQLite),
 * Docker, PostgreSQL's driver or the config schemas, and `--help` not even for
 * the SQL parser. The real CLI runs with a loader hook that lists every module
 * it loads (test/support/module-load-trace.ts); timings are in bench/.
 */
const TRACE = fileURLToPath(new URL('../support/module-load-trace.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'cutover-lazy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function modulesLoadedBy(args: string[]): string[] {
  const file = path.join(dir, `trace-${args.join('-').replace(/[^a-z0-9-]/gi, '')}.txt`);
  writeFileSync(file, '');
  const run = spawnSync(process.execPath, ['--import', TRACE, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, MODULE_TRACE_FILE: file },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.ok(run.status === 0 || run.status === 1, `cutover ${args.join(' ')}: exit ${run.status}\n${run.stderr}`);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

const loads = (modules: string[], name: string): boolean =>
  modules.some((url) => url.includes(`/node_modules/${name}/`) || url.includes(`/dist/src/${name}`));

const SERVER_SIDE = [
  'fastify',
  'better-sqlite3',
  'dockerode',
  'pg',
  'pino',
  'zod',
  'yaml',
  'cli/commands/server-command',
];

/** The full command tree and what only other commands use. */
const OTHER_COMMANDS = ['cli/cutover-program', 'cli/admin-client', 'cli/commands/flags-command', 'cli/build-info'];

describe('what the CLI loads', () => {
  it('cutover --help loads neither the server side nor the SQL parser', () => {
    const modules = modulesLoadedBy(['--help']);
    assert.ok(loads(modules, 'commander'), 'the trace works: commander is loaded');
    for (const name of [...SERVER_SIDE, 'libpg-query']) assert.ok(!loads(modules, name), `--help loaded ${name}`);
  });

  it('cutover migrate lint loads the parser, and pg only with --database', () => {
    writeFileSync(path.join(dir, 'one.sql'), 'ALTER TABLE users ADD COLUMN nickname text;\n');
    const modules = modulesLoadedBy(['migrate', 'lint', 'one.sql']);
    assert.ok(loads(modules, 'libpg-query'), 'the lint needs its parser');
    for (const name of SERVER_SIDE) assert.ok(!loads(modules, name), `migrate lint loaded ${name}`);
    // Nor the other commands: main() builds a tree with the lint alone (src/cli/lint-program.ts).
    for (const name of OTHER_COMMANDS) assert.ok(!loads(modules, name), `migrate lint loaded ${name}`);
    assert.ok(loads(modulesLoadedBy(['-c', 'cutover.yaml', 'migrate', 'lint', 'one.sql']), 'cli/lint-program'));

    // Port 1 refuses at once: the lint goes on without the catalog, but it did load the driver to try.
    const withDatabase = modulesLoadedBy(['migrate', 'lint', '--database', 'postgres://127.0.0.1:1/app', 'one.sql']);
    assert.ok(loads(withDatabase, 'pg'), 'with --database it loads pg');
  });
});
