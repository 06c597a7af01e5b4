import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCli } from '../support/cli-process.js';

/**
 * With --json, a script parses stdout. A command line that commander refused
 * (an unknown command or option, a missing argument or required option)
 * printed its text to stderr only and left stdout empty, so `cutover deploy
 * web --json | jq` failed on "no input" instead of reading an error. Now
 * every refusal is `{ error: { code: USAGE_INVALID, message, hint } }` on
 * stdout, with exit 2; without --json stdout stays empty, and --help is no
 * error.
 */
describe('usage errors under --json', () => {
  let dir: string;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  before(() => {
    // No server and no config: commander refuses these before anything is read.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-json-usage-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, string[], RegExp][] = [
    ['a missing required option', ['deploy', 'web', '--json'], /required option '--version <version>'/],
    ['a missing argument', ['promote', '--json'], /missing required argument 'service'/],
    ['an unknown command', ['--json', 'deplyo', 'web'], /unknown command 'deplyo'.*Did you mean deploy/],
    ['an unknown option', ['status', '--bogus', '--json'], /unknown option '--bogus'/],
  ];
  for (const [what, args, message] of cases) {
    it(`prints ${what} as a JSON error on stdout and exits 2`, async () => {
      const result = await cli(...args);
      assert.equal(result.code, EXIT.USAGE, result.stderr);
      const answer = JSON.parse(result.stdout) as { error: { code: string; message: string; hint: string } };
      assert.equal(answer.error.code, 'USAGE_INVALID');
      assert.match(answer.error.message, message);
      assert.doesNotMatch(answer.error.message, /^error:|\n/);
      assert.match(answer.error.hint, /--help/);
    });
  }

  it('keeps stdout empty without --json, and --help --json is no error', async () => {
    const plain = await cli('deploy', 'web');
    assert.equal(plain.code, EXIT.USAGE);
    assert.equal(plain.stdout, '');
    assert.match(plain.stderr, /required option '--version <version>'/);
    const help = await cli('--help', '--json');
    assert.equal(help.code, EXIT.OK);
    assert.match(help.stdout, /Usage: cutover/);
  });
});
