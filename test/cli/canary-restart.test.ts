import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { request } from 'undici';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { OperationRecord, ReleaseRecord } from '../../src/store/records.js';
import { downServerProcess, isAlive, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { sleep } from '../support/operations.js';

// Crash safety of a canary: the controller is SIGKILLed while the canary
// holds 25% of the traffic. After the restart the canary is safely aborted:
// every client is back on the stable release (never a higher weight than
// before), the canary's processes are stopped, and history says why.
describe('SIGKILL of the server during a canary at 25%', () => {
  let dir: string;
  let proxyPort: number;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const status = async (): Promise<ServiceStatus> =>
    JSON.parse((await cli('status', 'shop', '--json')).stdout) as ServiceStatus;
  const versionFor = async (user: string): Promise<string> => {
    const response = await request(`http://127.0.0.1:${proxyPort}/`, {
      headers: { host: 'shop.localhost', 'x-user-id': user },
    });
    return ((await response.body.json()) as { version: string }).version;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-canary-kill-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
  shop:
    hosts: [shop.localhost]
    default: true
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps: [ { weight: 5, pause: 1s }, { weight: 25, pause: 60s }, { weight: 100 } ]
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      timeout: 10s
      on_restart: abort
    drain_timeout: 2s
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const v1 = await cli('deploy', 'shop', '--version', 'v1');
    assert.equal(v1.code, 0, v1.stderr);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restarts with the canary safely aborted and every client on the stable release', async () => {
    const started = await cli('deploy', 'shop', '--version', 'v2', '--no-wait', '--json');
    assert.equal(started.code, 0, started.stderr);
    const operationId = (JSON.parse(started.stdout) as { operation: OperationRecord }).operation.id;
    let s: ServiceStatus | null = null;
    for (let i = 0; i < 100; i++) {
      s = await status();
      if (s.canary?.weight === 25) break;
      await sleep(100);
    }
    assert.equal(s?.canary?.weight, 25);
    const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const before = await Promise.all(users.map(versionFor));
    const onCanary = before.filter((v) => v === 'v2').length;
    assert.ok(onCanary > 20 && onCanary < 80, `about 25% of 200 users on the canary, got ${onCanary}`);

    const db = new Database(path.join(dir, '.cutover', 'cutover.db'), { readonly: true });
    const canaryPids = (
      db.prepare('SELECT info_json FROM instances WHERE release_id = ?').all(s.canary.releaseId) as {
        info_json: string;
      }[]
    ).map((row) => (JSON.parse(row.info_json) as { pid: number }).pid);
    db.close();
    assert.equal(canaryPids.length, 1);

    server!.kill('SIGKILL');
    await waitForExit(server!);
    const restartAt = Date.now();
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const after = await Promise.all(users.map(versionFor));
    // How soon it serves again is a benchmark figure (bench/README.md), not a pass/fail bound.
    process.stdout.write(`# serving the stable release ${Date.now() - restartAt} ms after the restart\n`);
    assert.deepEqual(
      [...new Set(after)],
      ['v1'],
      'after the restart every client is on the stable release: weight 0, not higher',
    );

    const status2 = await status();
    assert.equal(status2.canary, null);
    assert.equal(status2.operation, null);
    assert.equal(status2.active?.version, 'v1');
    const history = JSON.parse((await cli('history', 'shop', '--json')).stdout) as {
      releases: ReleaseRecord[];
      operations: OperationRecord[];
    };
    const op = history.operations.find((o) => o.id === operationId)!;
    assert.equal(op.outcome, 'aborted');
    assert.match(op.error?.message ?? '', /controller stopped during the deploy/);
    assert.equal(history.releases.find((r) => r.version === 'v2')?.state, 'aborted');
    for (let i = 0; i < 60 && canaryPids.some(isAlive); i++) await sleep(50);
    assert.deepEqual(canaryPids.filter(isAlive), [], 'the canary instance was stopped');

    // A new rollout starts again from its first step.
    const again = await cli('deploy', 'shop', '--version', 'v2', '--no-wait', '--json');
    assert.equal(again.code, 0, again.stderr);
    const againId = (JSON.parse(again.stdout) as { operation: OperationRecord }).operation.id;
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    let weights: number[] = [];
    for (let i = 0; i < 200 && weights.length === 0; i++) {
      const response = await request(`http://127.0.0.1:${adminPort}/api/v1/operations/${againId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.body.json()) as { events: { type: string; data: { weight?: number } }[] };
      weights = body.events.filter((e) => e.type === 'canary.weight').map((e) => e.data.weight ?? -1);
      if (weights.length === 0) await sleep(50);
    }
    assert.equal(weights[0], 5);
    const aborted = await cli('abort', 'shop');
    assert.equal(
      aborted.code,
      0,
      'abort follows the operation to its outcome; an abort that did what it was asked exits 0 (issue 20, item 11)',
    );
    assert.match(aborted.stdout + aborted.stderr, /aborted/);
  });
});
