import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CLI, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep } from '../support/operations.js';

/** `cutover status --watch` off a terminal: a new block only when the status changed, until Ctrl-C. */
describe('cutover status --watch', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1, strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }' });
  });
  after(async () => {
    await h?.close();
  });

  it('prints each change of the status once, and stops on SIGINT', async () => {
    await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    const child = spawn(process.execPath, [CLI, 'status', 'web', '--watch', '--interval', '0.2'], {
      env: { PATH: process.env.PATH, NO_COLOR: '1', CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 100 && !stdout.includes('v1 (web-1)'); i++) await sleep(50);
    await sleep(1000); // five more polls of an unchanged status
    const blocksBefore = stdout.split('\nweb  ').length;
    await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    for (let i = 0; i < 100 && !/active\s+\S+\s+v2 \(web-2\)/.test(stdout); i++) await sleep(50);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(blocksBefore, 2, `an unchanged status is printed once: ${stdout}`);
    assert.match(stdout, /active\s+\S+\s+v1 \(web-1\)/);
    assert.match(stdout, /active\s+\S+\s+v2 \(web-2\)/, 'the switch to v2 was printed without asking again');
    assert.ok(!stdout.includes('\u001b['), 'no terminal control codes off a terminal');
  });
});
