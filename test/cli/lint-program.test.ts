import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { cutoverProgram } from '../../src/cli/cutover-program.js';
import { lintProgram } from '../../src/cli/lint-program.js';
import { lintOnlyRequested } from '../../src/cli/root-command.js';

/**
 * `cutover migrate lint` runs on a tree with only that command (main.ts), so
 * a pre-commit hook does not load every other command. It must answer as the
 * full tree would: the same help, the same usage errors, and it is taken only
 * when nothing before `migrate lint` could be read differently.
 */
describe('the lint-only command tree', () => {
  it('is taken for migrate lint, after global options only', () => {
    for (const args of [
      ['migrate', 'lint', 'a.sql'],
      ['migrate', 'lint', '--help'],
      ['-c', 'other.yaml', 'migrate', 'lint', 'a.sql'],
      ['--config=other.yaml', '--json', 'migrate', 'lint', 'a.sql'],
      ['--url', 'http://127.0.0.1:1', '--token', 't', '--timeout', '5s', 'migrate', 'lint'],
    ])
      assert.ok(lintOnlyRequested(args), args.join(' '));
    for (const args of [
      [],
      ['--help'],
      ['migrate'],
      ['migrate', '--help', 'lint'],
      ['migrate', 'status'],
      ['lint', 'migrate'],
      ['--verbose', 'migrate', 'lint', 'a.sql'],
      ['-c', 'migrate', 'lint', 'a.sql'],
      ['help', 'migrate', 'lint'],
      ['deploy', 'migrate', 'lint'],
    ])
      assert.ok(!lintOnlyRequested(args), args.join(' '));
  });

  it('prints the same help and the same usage errors as the full tree', async () => {
    const cases = [
      ['migrate', 'lint', '--help'],
      ['migrate', 'lint'],
      ['migrate', 'lint', '--frobnicate', 'a.sql'],
      ['migrate', 'lint', '--format', 'yaml', 'a.sql'],
      ['--json', 'migrate', 'lint', '--phase', 'later', 'a.sql'],
    ];
    for (const args of cases) {
      assert.ok(lintOnlyRequested(args));
      const full = await answerOf(cutoverProgram(), args);
      const lean = await answerOf(lintProgram(), args);
      assert.ok(full.code.startsWith('commander.'), `${args.join(' ')}: a usage answer (${full.code})`);
      assert.deepEqual(lean, full, args.join(' '));
    }
  });
});

/** What commander says, without running an action or exiting (the programs throw on exit). */
async function answerOf(program: Command, args: string[]): Promise<{ code: string; out: string; err: string }> {
  let out = '';
  let err = '';
  const capture = (command: Command): void => {
    command.configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (err += text) });
    command.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'cutover', ...args]);
    return { code: 'ran', out, err };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error), out, err };
  }
}
