import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { EXIT } from '../../src/cli/exit-codes.js';
import { TOKEN_FILE } from '../../src/http/admin-token.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { CLI } from '../support/cutover-harness.js';
import { eventually } from '../support/eventually.js';
import { runInPty } from '../support/pty.js';

/**
 * Issue 20: `cutover logs` printed instance after instance, so its tail was not the latest output (item 13), and
 * `cutover logs web | head -5` ended in an EPIPE stack trace (item 9). A release of two instances that write, one
 * line at a time and in an order the test chooses, the lines it is told to write (say.txt); with a file `chatter`
 * they also write a line every 50 ms, for a reader that stops early.
 */
const APP = `import fs from 'node:fs';
import http from 'node:http';
const instance = process.env.INSTANCE;
const dir = process.env.SAY_DIR;
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('instance ' + instance + ' listening'));
let said = 0;
setInterval(() => {
  let mine = [];
  try { mine = fs.readFileSync(dir + '/say.txt', 'utf8').split('\\n').filter((l) => l.startsWith(instance + ' ')); } catch {}
  while (said < mine.length) console.log(mine[said++].slice(2));
  if (fs.existsSync(dir + '/chatter')) console.log('instance ' + instance + ' tick ' + Date.now());
}, 50);
`;

describe('cutover logs', () => {
  let dir: string;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const logsNow = async (): Promise<string> => {
    const token = fs.readFileSync(path.join(dir, '.cutover', TOKEN_FILE), 'utf8').trim();
    const response = await request(`http://127.0.0.1:${adminPort}/api/v1/services/web/logs?lines=100`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return response.body.text();
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-logs-'));
    fs.writeFileSync(path.join(dir, 'app.mjs'), APP);
    adminPort = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
  web:
    hosts: [web.localhost]
    command: node app.mjs
    cwd: ${dir}
    env: { SAY_DIR: ${dir} }
    instances: 2
    health: { path: /health, interval: 200ms, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true }
    drain_timeout: 1s
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const deploy = await cli('deploy', 'web', '--version', 'v1');
    assert.equal(deploy.code, EXIT.OK, deploy.stderr);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("merges the instances' lines by time, so the last lines are the latest output", async () => {
    // Instance 0, 1, 1, 0, 1, 0: each line written once the one before is visible through the server.
    const order = [0, 1, 1, 0, 1, 0];
    for (const [k, instance] of order.entries()) {
      fs.appendFileSync(path.join(dir, 'say.txt'), `${instance} line ${k}\n`);
      await eventually(async () => (await logsNow()).includes(`line ${k}\n`), `line ${k} in the logs`);
    }
    const all = await cli('logs', 'web');
    assert.equal(all.code, EXIT.OK, all.stderr);
    const said = all.stdout.split('\n').filter((l) => / line \d$/.test(l));
    assert.deepEqual(
      said.map((l) => l.replace(/^\[(blue|green)-/, '[')),
      order.map((instance, k) => `[${instance}] line ${k}`),
      all.stdout,
    );

    const tail = await cli('logs', 'web', '-n', '3');
    assert.deepEqual(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\[(blue|green)-/, '[')),
      ['[0] line 3', '[1] line 4', '[0] line 5'],
      'the last 3 lines of the release, whichever instance wrote them',
    );

    const json = await cli('logs', 'web', '--json');
    const entries = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; line: string });
    const times = entries.map((e) => Date.parse(e.time));
    assert.ok(
      times.every((t) => Number.isFinite(t)),
      'every JSON line has a time',
    );
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'in time order',
    );
  });

  it('-f read by a reader that stops after the first line ends quietly, with 0', async () => {
    fs.writeFileSync(path.join(dir, 'chatter'), '');
    const child = spawn(process.execPath, [CLI, 'logs', 'web', '-f'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let first = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        first += d.toString();
        if (first.includes('\n')) {
          // The reader goes: the lines that follow meet a closed pipe.
          child.stdout.destroy();
          resolve();
        }
      });
    });
    const code = await waitForExit(child);
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /, stderr);
    assert.equal(code, EXIT.OK, stderr);
  });

  it('on a terminal, `cutover logs web -f | head -n 2` under pipefail shows two lines and succeeds', async () => {
    fs.writeFileSync(path.join(dir, 'chatter'), '');
    const result = await runInPty(
      'bash',
      ['-c', 'set -o pipefail; "$0" "$1" logs web -f | head -n 2; echo "pipeline status $?"', process.execPath, CLI],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
    );
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, /EPIPE|\n\s+at /, result.output);
    const shown = result.output.trim().split('\n');
    assert.equal(shown.length, 3, result.output);
    assert.match(shown[0]!, /^\[(blue|green)-\d\] /);
    assert.equal(shown[2], 'pipeline status 0');
  });
});
