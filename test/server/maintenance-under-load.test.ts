import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';

// Issue 15's acceptance for maintenance, with real parts: `cutover server` (its proxy process with two
// workers), the sample app, the CLI, and steady load. Maintenance on: users get 503 + Retry-After (HTML
// or JSON by Accept), the instances stay healthy (cutover's checks go straight to them), a client from
// an allowed address (127.0.0.2, a loopback alias) reaches the app; a server restart keeps it on; off
// serves again without a deploy.
describe('maintenance on and off under steady load', () => {
  let dir: string;
  let proxyPort: number;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-maintenance-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
  proxy_workers: 2
services:
  web:
    hosts: [web.localhost]
    runtime: process
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 2s
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const v1 = await cli('deploy', 'web', '--version', 'v1');
    assert.equal(v1.code, 0, v1.stderr);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Several requests on fresh connections (so both workers answer), from `localAddress` when given. */
  async function answers(headers: Record<string, string> = {}, localAddress?: string) {
    const pool = new Pool(`http://127.0.0.1:${proxyPort}`, {
      connections: 4,
      ...(localAddress ? { localAddress } : {}),
    });
    try {
      return await Promise.all(
        Array.from({ length: 8 }, async () => {
          const response = await request(`http://127.0.0.1:${proxyPort}/`, {
            headers: { host: 'web.localhost', connection: 'close', ...headers },
            dispatcher: pool,
          });
          return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
        }),
      );
    } finally {
      await pool.close();
    }
  }

  const statusOf = async () =>
    JSON.parse((await cli('status', 'web', '--json')).stdout) as {
      active: { version: string; instances: { health: string; restarts: number }[] } | null;
      maintenance: { message: string; retryAfterSec: number; allow: string[]; actor: string } | null;
    };

  const releaseIds = async () =>
    (JSON.parse((await cli('history', 'web', '--json')).stdout) as { releases: { id: string }[] }).releases.map(
      (r) => r.id,
    );

  it('503 + Retry-After for users, healthy instances, the allowed address through; kept by a restart; off without a deploy', async (t) => {
    const traffic = new SteadyTraffic({
      url: `http://127.0.0.1:${proxyPort}`,
      host: 'web.localhost',
      ratePerSecond: 100,
      connections: 4,
      maxDurationMs: 60_000,
      maxRequests: 6_000,
    }).start();
    try {
      await traffic.waitForAnswers(100);
      assert.equal(traffic.summary.failed, 0, traffic.summary.firstErrors.join('; '));
      const releasesBefore = await releaseIds();

      // Validated at the API: a bad block or an overlong message changes nothing (exit 2, BAD_REQUEST).
      const badBlock = await cli('maintenance', 'on', 'web', '--allow', '10.0.0.0/99');
      assert.equal(badBlock.code, 2, badBlock.stderr);
      assert.match(badBlock.stderr, /allow/);
      const tooLong = await cli('maintenance', 'on', 'web', '--message', 'x'.repeat(501));
      assert.equal(tooLong.code, 2, tooLong.stderr);
      assert.equal((await statusOf()).maintenance, null);
      assert.equal(traffic.summary.failed, 0, 'a refused request changed nothing');

      const on = await cli(
        'maintenance',
        'on',
        'web',
        '--message',
        'Upgrading <db> & back soon',
        '--retry-after',
        '10m',
        '--allow',
        '127.0.0.2/32',
      );
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /maintenance on/);

      for (const answer of await answers()) {
        assert.equal(answer.status, 503);
        assert.equal(answer.headers['retry-after'], '600');
        const body = JSON.parse(answer.text) as { error: { code: string; message: string } };
        assert.deepEqual([body.error.code, body.error.message], ['MAINTENANCE', 'Upgrading <db> & back soon']);
      }
      for (const answer of await answers({ accept: 'text/html,*/*;q=0.8' })) {
        assert.equal(answer.status, 503);
        assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
        assert.ok(answer.text.includes('Upgrading &lt;db&gt; &amp; back soon'), answer.text);
      }
      for (const answer of await answers({}, '127.0.0.2')) {
        assert.equal(answer.status, 200, 'the allowed address reaches the app');
        assert.equal((JSON.parse(answer.text) as { version: string }).version, 'v1');
      }
      // The load now gets the maintenance answer; the health checks (every 200 ms) keep passing meanwhile.
      const failedAtOn = traffic.summary.failed;
      await traffic.waitForAnswers(150);
      assert.ok(traffic.summary.failed - failedAtOn >= 140, 'users get 503 while maintenance is on');
      const during = await statusOf();
      assert.equal(during.maintenance?.retryAfterSec, 600);
      assert.deepEqual(during.maintenance?.allow, ['127.0.0.2/32']);
      assert.ok(
        during.active!.instances.every((i) => i.health === 'healthy' && i.restarts === 0),
        JSON.stringify(during),
      );

      // A restart of the server: the maintenance is in the store, and recovery routes with it.
      server!.kill('SIGTERM');
      await waitForExit(server!);
      server = await startServerProcess('cutover.yaml', dir, adminPort);
      assert.equal((await statusOf()).maintenance?.message, 'Upgrading <db> & back soon');
      for (const answer of await answers()) assert.equal(answer.status, 503);

      const off = await cli('maintenance', 'off', 'web');
      assert.equal(off.code, 0, off.stderr);
      for (const answer of await answers()) assert.equal(answer.status, 200);
      const okAtOff = traffic.summary.ok;
      const failedAtOff = traffic.summary.failed;
      await traffic.waitForAnswers(100);
      assert.ok(traffic.summary.ok - okAtOff >= 95, 'traffic is served again');
      assert.ok(traffic.summary.failed - failedAtOff <= 5, 'only requests sent before off got the 503');
      const after = await statusOf();
      assert.equal(after.maintenance, null);
      assert.equal(after.active?.version, 'v1');
      assert.deepEqual(await releaseIds(), releasesBefore, 'no deploy: the same releases');
    } finally {
      const summary = await traffic.stop();
      t.diagnostic(`${summary.sent} sent, ${summary.ok} ok, ${summary.failed} answered 503 or failed`);
      assert.equal(summary.connectionErrors, 0, summary.firstErrors.join('; '));
    }
  });
});
