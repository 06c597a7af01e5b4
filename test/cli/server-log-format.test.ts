import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { prettyLogLine, serverLogDestination } from '../../src/cli/pretty-log-line.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli } from '../support/cli-process.js';
import { CLI, SAMPLE_APP } from '../support/cutover-harness.js';
import { spawnPty } from '../support/pty.js';

// Issue 20, item 13: `cutover server` printed pino's raw JSON on a terminal. On a TTY one readable line per event;
// on anything else (a pipe, a file, journald) the JSON lines, unchanged.
describe('the server log: readable on a terminal, JSON elsewhere', () => {
  let dir: string;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('CUTOVER_')) delete env[key];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-server-log-'));
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: .cutover
services:
  web:
    hosts: [web.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    health: { path: /health }
`,
    );
  });

  let serverDown = true;

  after(async () => {
    // Only when the terminal case did not get to its own `cutover down` (an adoption costs seconds).
    if (!serverDown) await downServerProcess(null, dir, env).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('formats one event as time, level, message and its fields on one line', () => {
    const line = prettyLogLine(
      `${JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, hostname: 'h', component: 'cutover', service: 'web', why: 'two words', msg: 'stopping' })}\n`,
    );
    assert.equal(line, '03:04:05.006 WARN  stopping service=web why="two words"\n');
    const error = prettyLogLine(
      JSON.stringify({
        level: 50,
        time: 0,
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
        msg: 'failed',
      }),
    );
    assert.equal(error, '00:00:00.000 ERROR failed err="boom"\n');
    assert.equal(prettyLogLine('not json\n'), 'not json\n');
  });

  it('on a terminal, `cutover server` prints readable lines, no JSON', async () => {
    const session = spawnPty(process.execPath, [CLI, 'server'], { cwd: dir, env });
    serverDown = false;
    try {
      await session.waitFor(/cutover is serving/, 30_000);
      const down = await runCli(['down', '--yes'], { cwd: dir, env, timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
      serverDown = true;
      const result = await session.exited;
      assert.equal(result.code, 0, result.output);
      assert.match(
        result.output,
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}cutover is serving: proxy http:\/\/127\.0\.0\.1:\d+/m,
      );
      assert.match(result.output, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}stopping everything/m);
      assert.doesNotMatch(result.output, /"level":|"msg":/);
    } finally {
      session.kill();
    }
  });

  it('on anything but a terminal, the destination is the stream itself: the JSON lines, unchanged', () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) =>
      Object.assign(
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            written.push(chunk.toString());
            done();
          },
        }),
        { isTTY },
      );
    const pipe = stream(false);
    assert.equal(serverLogDestination(pipe), pipe);
    const terminal = stream(true);
    serverLogDestination(terminal).write(`${JSON.stringify({ level: 30, time: 0, msg: 'hello' })}\n`);
    assert.deepEqual(written, ['00:00:00.000 INFO  hello\n']);
  });
});
