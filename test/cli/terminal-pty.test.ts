import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInPty, spawnPty } from '../support/pty.js';

// The pty helper (test/support/pty.ts) stands for a user's terminal in the CLI tests (issue 20, items 9, 10, 13):
// what it promises them, checked on a plain node process.
describe('a command on a pseudo-terminal', () => {
  it('sees a terminal on stdin, stdout and stderr, and its exit code comes back', async () => {
    const script =
      'console.log([process.stdin.isTTY, process.stdout.isTTY, process.stderr.isTTY].join(" ")); console.error("to stderr"); process.exitCode = 3';
    const result = await runInPty(process.execPath, ['-e', script]);
    assert.equal(result.code, 3);
    assert.equal(result.signal, null);
    assert.match(result.output, /^true true true\n/);
    assert.match(result.output, /to stderr\n/);
  });

  it('Ctrl-C typed at the terminal reaches the command as SIGINT', async () => {
    const session = spawnPty(process.execPath, [
      '-e',
      'process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(130); }); console.log("waiting"); setInterval(() => {}, 1000);',
    ]);
    await session.waitFor('waiting');
    session.write('\x03');
    const result = await session.exited;
    assert.equal(result.code, 130);
    assert.match(result.output, /got SIGINT/);
  });

  it('a command without a handler is ended by the signal, and the signal is named', async () => {
    const session = spawnPty(process.execPath, ['-e', 'console.log("waiting"); setInterval(() => {}, 1000);']);
    await session.waitFor('waiting');
    session.write('\x03');
    const result = await session.exited;
    assert.equal(result.code, null);
    assert.equal(result.signal, 'SIGINT');
  });
});
