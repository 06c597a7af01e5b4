import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import type { FlagRollout } from '../../src/cli/commands/flag-api-answers.js';
import { cutoverProgram } from '../../src/cli/cutover-program.js';
import { versionRequested } from '../../src/cli/version-flag.js';
import { runCli } from '../support/cli-process.js';
import { REPO_ROOT, SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { docCommands, type DocCommand } from '../support/doc-command-lines.js';
import { DOC_FILES, markdownBlocks, type MarkdownBlock } from '../support/markdown-blocks.js';
import { operate } from '../support/operations.js';

/**
 * Issue 20, item 15 (its command half): every command line of a ```sh block of README.md and docs/*.md reaches
 * the real CLI. Each is expanded from the docs' usage notation (optional `[...]` parts, `a|b` alternatives)
 * and parsed by the commander program `cutover` runs, with the actions swapped for no-ops: a verb, an option or
 * a choice the CLI does not have, a missing required option or an extra argument fails here. npm lines must name
 * scripts package.json has, and any other program must be taught to this test.
 *
 * A block marked `<!-- needs: server -->` is run for real, in order, against a server this test starts with the
 * docs' own YAML (the README's analysis templates, docs/flags.md's environments). The README's first commands
 * (init, server, deploy, canary, rollback, the release tarball) run for real in test/examples/newcomer.test.ts.
 */
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
};

const shBlocks = DOC_FILES.flatMap((file) => markdownBlocks(file, 'sh'));
const where = (block: MarkdownBlock, command: DocCommand): string =>
  `${block.file}:${block.line + command.lineInBlock}: ${command.written}`;

/** What commander says about `cutover <args>`, or null when it would run a command's action. */
async function cliRefuses(args: string[]): Promise<string | null> {
  // main() answers --version before commander sees the line.
  if (versionRequested(args)) return null;
  const cli = cutoverProgram();
  let said = '';
  let ran: string | null = null;
  const quietly = (command: Command): void => {
    command.exitOverride().configureOutput({
      writeOut: () => {},
      writeErr: (text) => {
        said += text;
      },
    });
    if (command.commands.length === 0)
      command.action(() => {
        ran = command.name();
      });
    command.commands.forEach(quietly);
  };
  quietly(cli);
  try {
    await cli.parseAsync(args, { from: 'user' });
  } catch (error) {
    return said.split('\n')[0] || (error as Error).message;
  }
  return ran === null ? 'no command of the CLI would run' : null;
}

/** npm's own commands that the docs use, and the package's scripts. */
function npmRefuses(args: string[]): string | null {
  const [verb, ...rest] = args;
  if (verb === 'ci' || verb === 'pack') return rest.length === 0 ? null : `unexpected arguments ${rest.join(' ')}`;
  if (verb === 'start' || verb === 'test') return manifest.scripts[verb] ? null : `package.json has no ${verb} script`;
  if (verb === 'run') return manifest.scripts[rest[0] ?? ''] ? null : `package.json has no script ${rest[0]}`;
  if (verb === 'install' && rest[0] === '-g')
    return rest[1] === `./cutover-${manifest.version}.tgz`
      ? null
      : `npm pack writes cutover-${manifest.version}.tgz, not ${rest[1]}`;
  return `this test does not know npm ${verb}: teach it`;
}

describe('every command line of the docs is one the CLI takes', () => {
  it('finds the sh blocks (README has several, docs/flags.md one)', () => {
    assert.ok(shBlocks.filter((b) => b.file === 'README.md').length >= 6, JSON.stringify(shBlocks.map((b) => b.line)));
    assert.ok(shBlocks.some((b) => b.file === path.join('docs', 'flags.md')));
    for (const block of shBlocks)
      assert.ok(block.needs === null || block.needs === 'server', `${block.file}:${block.line}: needs ${block.needs}?`);
  });

  for (const block of shBlocks) {
    for (const command of docCommands(block.text)) {
      it(where(block, command), async () => {
        for (const [program, ...args] of command.variants) {
          const refused =
            program === 'cutover'
              ? await cliRefuses(args)
              : program === 'npm'
                ? npmRefuses(args)
                : program === 'curl' && block.needs === 'server'
                  ? null // run below against the server
                  : `a program this test does not check (${program}): run it in a needs: server block, or teach the test`;
          assert.equal(refused, null, `${program} ${args.join(' ')}`);
        }
      });
    }
  }

  it('refuses what the CLI does not take (so the cases above can fail)', async () => {
    assert.match((await cliRefuses(['deploy', 'web', '--version', 'v1', '--autoswitch'])) ?? '', /unknown option/);
    assert.match((await cliRefuses(['promot', 'web'])) ?? '', /unknown command/);
    assert.match((await cliRefuses(['deploy', 'web'])) ?? '', /--version/);
    assert.match((await cliRefuses(['migrate', 'lint', 'm/', '--format', 'xml'])) ?? '', /Allowed choices/);
    assert.match((await cliRefuses(['status', 'web', 'extra'])) ?? '', /too many arguments/);
    assert.equal(await cliRefuses(['--version']), null);
    assert.match(npmRefuses(['run', 'no-such-script']) ?? '', /no script/);
  });

  it('expands the usage notation into each command it stands for', () => {
    const [rollback] = docCommands('cutover rollback web [--to web-3|3|v1]   # a comment [--not]');
    assert.deepEqual(rollback!.variants, [
      ['cutover', 'rollback', 'web'],
      ['cutover', 'rollback', 'web', '--to', 'web-3'],
      ['cutover', 'rollback', 'web', '--to', '3'],
      ['cutover', 'rollback', 'web', '--to', 'v1'],
    ]);
    const [set] = docCommands('cutover flags set k --percent 10 [--rule "a in b,c -> on" ...]');
    assert.deepEqual(set!.variants.at(-1), [
      'cutover',
      'flags',
      'set',
      'k',
      '--percent',
      '10',
      '--rule',
      'a in b,c -> on',
    ]);
    const steps = docCommands(
      'cutover db backup s --label x ; cutover db backfill s --set "a = b || \' \'" \\\n  --batch 1',
    );
    assert.deepEqual(
      steps.map((c) => c.variants),
      [
        [['cutover', 'db', 'backup', 's', '--label', 'x']],
        [['cutover', 'db', 'backfill', 's', '--set', "a = b || ' '", '--batch', '1']],
      ],
    );
  });
});

describe('the docs blocks marked needs: server, run against a server', () => {
  const serverBlocks = shBlocks.filter((block) => block.needs === 'server');
  let harness: Harness;
  const env = (): NodeJS.ProcessEnv => ({
    CUTOVER_URL: harness.server.adminUrl,
    CUTOVER_TOKEN: harness.server.token,
    CUTOVER_ACTOR: 'reader',
  });
  const cli = (args: string[]) => runCli(args, { cwd: harness.dir, env: env(), timeoutMs: 20_000 });

  /** A top-level section of the first YAML block of a doc that has it, as the doc writes it. */
  function docSection(file: string, key: string, entry?: string): unknown {
    for (const block of markdownBlocks(file, 'yaml')) {
      const section = (parse(block.text) as Record<string, Record<string, unknown>>)[key];
      if (section !== undefined && (entry === undefined || section[entry] !== undefined))
        return entry === undefined ? section : { [entry]: section[entry] };
    }
    assert.fail(`${file} has no YAML block with ${key}${entry ? `.${entry}` : ''}`);
  }

  before(async () => {
    const analysis = {
      ...(docSection('README.md', 'analysis', 'errors') as object),
      ...(docSection('README.md', 'analysis', 'flag-errors') as object),
    };
    const flags = docSection(path.join('docs', 'flags.md'), 'flags');
    harness = await startHarness({
      instances: 1,
      extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
`,
      topLevelYaml: stringify({ analysis, flags }),
    });
    // The flag rollout's builtin metric reads the proxy's counters of shop's active release.
    const deployed = await operate(harness.client, '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
  });

  after(async () => {
    await harness?.close();
  });

  it('the README marks its feature-flag commands and docs/flags.md its curl example', () => {
    assert.deepEqual(
      serverBlocks.map((b) => b.file),
      ['README.md', path.join('docs', 'flags.md')],
    );
  });

  it('each command of those blocks succeeds, in the order the docs give', async () => {
    const detached: string[] = [];
    for (const block of serverBlocks) {
      for (const command of docCommands(block.text)) {
        for (const [program, ...written] of command.variants) {
          let args = written;
          // A rollout holds each step for its --pause (5 m): started detached, checked and aborted below.
          if (program === 'cutover' && args[0] === 'flags' && args[1] === 'rollout')
            args = [...args, '--detach', '--json'];
          if (program === 'curl') {
            const answer = await runCurl(args);
            assert.doesNotMatch(answer, /"error"/, `${where(block, command)}\n${answer}`);
            continue;
          }
          assert.equal(program, 'cutover', where(block, command));
          const result = await cli(args);
          assert.equal(result.code, 0, `${where(block, command)}: ${args.join(' ')}\n${result.stdout}${result.stderr}`);
          if (args.includes('--detach'))
            detached.push((JSON.parse(result.stdout) as { rollout: FlagRollout }).rollout.id);
        }
      }
    }
    assert.equal(detached.length, 1, 'the README starts one flag rollout');
    const aborted = await cli(['flags', 'rollout', '--abort', detached[0]!]);
    assert.equal(aborted.code, 0, aborted.stderr);
  });

  it("the README's canary template on a flag rollout is refused, naming the template's field (not the request body)", async () => {
    const result = await cli([
      'flags',
      'rollout',
      'new-checkout',
      '--steps',
      '10,50,100',
      '--pause',
      '5m',
      '--analysis',
      'errors',
      '--service',
      'shop',
    ]);
    assert.equal(result.code, 2, result.stdout);
    assert.match(
      result.stderr,
      /analysis\.errors\.metrics\[1\] \(judge\) in cutover\.yaml: provider builtin baseline compares a canary with its stable release/,
    );
    assert.match(result.stderr, /hint: Give flag rollouts a template without builtin baseline/);
    assert.doesNotMatch(result.stderr, /request body/);

    const noService = await cli([
      'flags',
      'rollout',
      'new-checkout',
      '--steps',
      '10,50,100',
      '--pause',
      '5m',
      '--analysis',
      'flag-errors',
    ]);
    assert.equal(noService.code, 2, noService.stdout);
    assert.match(
      noService.stderr,
      /analysis\.flag-errors\.metrics\[0\] \(error-rate\) in cutover\.yaml reads the proxy's counters/,
    );
    assert.match(noService.stderr, /hint: Name that service: add --service <name>/);
  });

  /** The docs' curl, run as written, with the docs' admin address and $CUTOVER_TOKEN those of this server. */
  async function runCurl(args: string[]): Promise<string> {
    const admin = harness.server.adminUrl.replace(/\/$/, '');
    const substituted = args.map((arg) =>
      arg.replaceAll('$CUTOVER_TOKEN', harness.server.token).replace(/^http:\/\/127\.0\.0\.1:\d+/, admin),
    );
    const { stdout } = await promisify(execFile)('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '10',
      ...substituted,
    ]);
    return stdout;
  }
});
