import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { waitForExit } from '../support/cli-process.js';
import { CLI } from '../support/cutover-harness.js';
import { runInPty } from '../support/pty.js';

// Issue 20, item 9: `cutover doctor | head -1` ended in an EPIPE stack trace. A reader that goes away ends the CLI
// quietly, with 0, whatever the command (the handler is installed once in main). `cutover logs -f` read by a reader
// that stops after a line is in logs-command.test.ts, next to the server it needs.
describe('a closed stdout', () => {
  let dir: string;

  before(() => {
    // No cutover.yaml: doctor reports a problem (exit 1) when it can write it.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-closed-stdout-'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('doctor whose reader closed the pipe before it wrote ends quietly, with 0', async () => {
    const child = spawn(process.execPath, [CLI, 'doctor'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The read side goes before the CLI has written anything: its first write meets a closed pipe (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await waitForExit(child);
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /, 'no stack trace, no EPIPE');
    assert.equal(stderr, '');
    assert.equal(code, EXIT.OK);
  });

  it('on a terminal, `cutover doctor | head -n 0` under pipefail shows nothing and the pipeline succeeds', async () => {
    // head -n 0 reads nothing and exits at once, long before node has loaded the CLI: a real shell pipe, closed.
    const result = await runInPty(
      'bash',
      ['-c', 'set -o pipefail; "$0" "$1" doctor | head -n 0; echo "pipeline status $?"', process.execPath, CLI],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
    );
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.output, /EPIPE|\n\s+at /, result.output);
    assert.equal(result.output.trim(), 'pipeline status 0');
  });

  it('with its reader in place, doctor still says what is wrong and exits 1', async () => {
    const result = await runInPty(process.execPath, [CLI, 'doctor'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /problem/);
  });
});
