import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/cutover-harness.js';

/**
 * Issue 12, finding 21: `npm test` on a fresh machine failed on the missing Debian servers. The README's test command
 * must install what is missing exactly as CI does and then run everything, and CI must run that same command.
 */
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const ciScript = readFileSync(path.join(REPO_ROOT, '.ci/run'), 'utf8');
const scripts = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

function readmeOpeningCommands(): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README opens with a sh block');
  return (block[1] as string)
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

test('the README opens with exactly two commands, the second being the fresh-machine test command', () => {
  const commands = readmeOpeningCommands();
  assert.equal(commands.length, 2, commands.join('\n'));
  assert.equal(commands[1], 'npm ci && npm run test:all');
});

test('test:all installs the missing test servers, then checks lint, format, cycles, commits and types, and runs every test', () => {
  const steps = (scripts['test:all'] ?? '').split('&&').map((step) => step.trim());
  assert.deepEqual(steps, [
    'bash scripts/install-test-servers.sh',
    'npm run lint',
    'npm run format:check',
    'npm run check:cycles',
    'npm run check:commits',
    'npm run typecheck',
    'npm test',
  ]);
});

test('CI runs the same command as the README, after npm ci', () => {
  const commands = ciScript.split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const install = commands.indexOf('npm ci --no-audit --no-fund');
  const run = commands.indexOf('npm run test:all');
  assert.ok(
    install >= 0 && run > install,
    `.ci/run installs with npm ci, then runs npm run test:all:\n${commands.join('\n')}`,
  );
  assert.ok(!/apt-get/.test(ciScript), 'CI installs nothing the README command would not: no apt-get of its own');
});

test('on this machine (after test:all installed them) the install script finds every test server', () => {
  const output = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/install-test-servers.sh'), '--check'], {
    encoding: 'utf8',
  });
  assert.match(output, /all present/);
});
