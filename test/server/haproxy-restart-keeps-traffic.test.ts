import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { HaproxyRuntimeApi, parseMap } from '../../src/router/haproxy/haproxy-runtime-api.js';
import { RoutingState, type SavedRoutingState } from '../../src/router/haproxy/routing-state.js';
import { stateDifferences } from '../../src/router/haproxy/served-state.js';
import { runningMasterPid } from '../../src/router/haproxy/haproxy-process.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, isAlive, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { versionAt } from '../support/operations.js';

// Issue 16's acceptance: with `router: haproxy`, HAProxy is a daemon of its
// own, so `kill -9` of cutover server under 200 req/s costs no request; the
// restarted server adopts the same master and worker (no restart, no
// reload), HAProxy's servers and maps equal what cutover saved and would
// render, and a deploy and a rollback go through the adopted HAProxy.
describe('a cutover server routing through HAProxy, killed and started again under steady load', () => {
  let dir: string;
  let proxyPort: number;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const haproxyDir = (): string => path.join(dir, '.cutover', 'haproxy');
  const api = (): HaproxyRuntimeApi => new HaproxyRuntimeApi({ socketPath: path.join(haproxyDir(), 'haproxy.sock') });

  before(async () => {
    if (!haproxyInstalled())
      throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-crash-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
  router: haproxy
services:
  web:
    hosts: [web.localhost]
    runtime: process
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 2s
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const v1 = await cli('deploy', 'web', '--version', 'v1');
    assert.equal(v1.code, 0, v1.stderr);
  });

  after(async () => {
    const pidFile = path.join(haproxyDir(), 'haproxy.pid');
    await downServerProcess(server, dir);
    assert.equal(runningMasterPid(pidFile), null, '`cutover down` stops its HAProxy');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What HAProxy serves, against the state cutover saved and the map files it rendered: the differences, one line each. */
  async function servedDifferences(): Promise<string[]> {
    const saved = JSON.parse(
      fs.readFileSync(path.join(haproxyDir(), 'haproxy-state.json'), 'utf8'),
    ) as SavedRoutingState;
    const state = new RoutingState();
    state.restore(saved);
    const routesMap = path.join(haproxyDir(), 'haproxy-routes.map');
    const out = await stateDifferences(api(), state, routesMap, saved.generation ?? '');
    for (const file of [routesMap, path.join(haproxyDir(), 'haproxy-hosts.map')]) {
      const rendered = parseMap(
        fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .map((line) => (line === '' ? '' : `0x0 ${line}`))
          .join('\n'),
      );
      const served = await api().showMap(file);
      if (JSON.stringify([...served].sort()) !== JSON.stringify([...rendered].sort()))
        out.push(
          `${path.basename(file)}: served ${JSON.stringify([...served])}, rendered ${JSON.stringify([...rendered])}`,
        );
    }
    return out;
  }

  it('0 failed requests; the same HAProxy master and worker serve, with the state cutover would render; deploy and rollback work after', async (t) => {
    const masterPid = runningMasterPid(path.join(haproxyDir(), 'haproxy.pid'));
    assert.ok(masterPid !== null, 'cutover started its HAProxy');
    const workerPid = (await api().showInfo()).get('Pid');
    assert.ok(workerPid !== undefined);
    assert.deepEqual(await servedDifferences(), [], 'before the kill');
    // The load of issue 14's measurements: 200 req/s kept alive over 8 connections, bounded in count and time.
    const traffic = new SteadyTraffic({
      url: `http://127.0.0.1:${proxyPort}`,
      host: 'web.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 60_000,
      maxRequests: 12_000,
    }).start();
    // 100 answers (half a second) on each side of the kill and the start: the load runs on through the
    // status, deploy and rollback below until it is stopped and judged, so a wait only spaces the steps.
    const stepAnswers = 100;
    try {
      await traffic.waitForAnswers(stepAnswers);
      server!.kill('SIGKILL');
      await waitForExit(server!);
      await traffic.waitForAnswers(stepAnswers);
      assert.ok(isAlive(masterPid), 'HAProxy outlived the controller');

      server = await startServerProcess('cutover.yaml', dir, adminPort);
      await traffic.waitForAnswers(stepAnswers);
      const status = JSON.parse((await cli('status', '--json')).stdout) as {
        router: { kind: string; listen: string };
        services: { active?: { version: string } }[];
      };
      assert.equal(status.services[0]?.active?.version, 'v1');
      assert.deepEqual(status.router, { kind: 'haproxy', listen: `127.0.0.1:${proxyPort}` });
      const text = await cli('status');
      assert.equal(
        text.stdout.split('\n')[0],
        `router: haproxy (127.0.0.1:${proxyPort})`,
        'status names the router first',
      );
      assert.equal(runningMasterPid(path.join(haproxyDir(), 'haproxy.pid')), masterPid, 'adopted, not started again');
      assert.equal((await api().showInfo()).get('Pid'), workerPid, 'adopted without a reload');
      assert.deepEqual(await servedDifferences(), [], 'after the adoption');

      const v2 = await cli('deploy', 'web', '--version', 'v2');
      assert.equal(v2.code, 0, v2.stderr);
      assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'web.localhost'), {
        status: 200,
        version: 'v2',
      });
      const back = await cli('rollback', 'web');
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'web.localhost'), {
        status: 200,
        version: 'v1',
      });
      assert.equal((await api().showInfo()).get('Pid'), workerPid, 'the deploy and the rollback reloaded nothing');
      assert.deepEqual(await servedDifferences(), [], 'after the deploy and the rollback');
    } finally {
      const summary = await traffic.stop();
      t.diagnostic(`${summary.sent} sent, ${summary.failed} failed`);
      assert.equal(summary.failed, 0, `failed across the controller's crash: ${summary.firstErrors.join('; ')}`);
    }
  });
});
