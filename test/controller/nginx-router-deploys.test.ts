import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { runDoctor } from '../../src/doctor/doctor-checks.js';
import { readToken } from '../../src/http/admin-token.js';
import { AdminClient } from '../../src/cli/admin-client.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { ReleaseRecord } from '../../src/store/records.js';
import { downServerProcess, startServerProcess, waitForExit } from '../support/cli-process.js';
import {
  configYaml,
  SAMPLE_APP,
  startHarness,
  type Harness,
  errorRateTemplateYaml,
} from '../support/cutover-harness.js';
import { startNginxServer, type RunningNginxServer } from '../support/nginx-server.js';
import { operate, versionAt } from '../support/operations.js';

// cutover with `router: nginx`, end to end: the controller's deploys move a
// real nginx (started by this file, the way a team runs it) instead of the
// embedded proxy. Blue-green and rollback through reloads; a canary judged
// by the builtin analysis from nginx's own access log; a colleague's typo in
// the team's nginx config refuses the switch and leaves the old release
// serving; `cutover doctor` checks the nginx the router will drive.
let nginx: RunningNginxServer;
let h: Harness;

before(async () => {
  nginx = await startNginxServer();
  h = await startHarness({
    strategy: '{ type: blue-green, auto_switch: true, timeout: 20s, scale_down_delay: 10m }',
    serverYaml: `  router: nginx
  nginx: { main_config: ${nginx.mainConfig}, include_file: ${nginx.includeFile}, pid_file: ${nginx.pidFile} }
`,
    extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy:
      type: canary
      steps: [{ weight: 50, pause: 20s }, { weight: 100 }]
      analysis: [errors]
      timeout: 20s
`,
    topLevelYaml: `analysis:
${errorRateTemplateYaml('500ms')}`,
  });
  for (const service of ['web', 'shop']) {
    const first = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true });
    assert.equal(first.operation.outcome, 'succeeded', `${service}: ${JSON.stringify(first.operation.error)}`);
  }
});

after(async () => {
  await h?.close();
  await nginx?.stop();
});

describe('deploys through a real nginx (router: nginx)', () => {
  it('nginx serves what the controller routed, through the file cutover owns', async () => {
    assert.equal(h.server.router.kind, 'nginx');
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v1' });
    assert.deepEqual(await versionAt(h.proxyUrl, 'shop.localhost'), { status: 200, version: 'v1' });
    assert.match(fs.readFileSync(nginx.includeFile, 'utf8'), /upstream \S+/);
  });

  it('blue-green v1 → v2 under steady traffic, then a rollback, each verified on nginx', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 100,
      connections: 4,
      maxDurationMs: 30_000,
    }).start();
    await traffic.waitForAnswers(20);
    const deployed = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
    // setRoute resolved only once nginx answered with the new generation: the next request is v2's.
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v2' });
    await traffic.waitForAnswers(20);
    const rolledBack = await operate(h.client, '/api/v1/services/web/rollback', {});
    assert.equal(rolledBack.operation.outcome, 'succeeded', JSON.stringify(rolledBack.operation.error));
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v1' });
    await traffic.waitForAnswers(20);
    const summary = await traffic.stop();
    assert.ok(
      (summary.byVersion.v1 ?? 0) > 0 && (summary.byVersion.v2 ?? 0) > 0,
      `both versions answered: ${JSON.stringify(summary.byVersion)}`,
    );
    // Not a zero-loss claim: a reload can reset a kept-alive connection (bench/router-switch-bench.ts measures it);
    // a 5xx, though, would mean nginx routed to something that was not serving.
    assert.equal(
      summary.failed - summary.connectionErrors,
      0,
      `answers that were errors: ${summary.firstErrors.join('; ')}`,
    );
  });

  it('a canary of a bad version is judged from the nginx access log and rolled back by the builtin analysis', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      ratePerSecond: 80,
      connections: 4,
      maxDurationMs: 30_000,
    }).start();
    try {
      const done = await operate(h.client, '/api/v1/services/shop/deploy', { version: 'v2-errors30' });
      assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
      assert.match(done.operation.error?.message ?? '', /error-rate/);
      const counted = h.server.router.counters().find((c) => c.releaseId === done.operation.releaseId);
      assert.ok(
        counted && counted.status['5xx'] > 0,
        `nginx's log counted the canary's errors: ${JSON.stringify(counted)}`,
      );
      assert.deepEqual(await versionAt(h.proxyUrl, 'shop.localhost'), { status: 200, version: 'v1' });
    } finally {
      await traffic.stop();
    }
  });

  it("a colleague's typo in the team's nginx config refuses the switch: the deploy fails, nothing is recorded, v1 serves on", async () => {
    const good = fs.readFileSync(nginx.teamFile, 'utf8');
    fs.appendFileSync(nginx.teamFile, 'proxy_buffer_sizes 8k;\n');
    try {
      const doctor = (await runDoctor({ configFile: h.configFile, env: {} })).find((r) => r.id === 'router.nginx');
      assert.equal(doctor?.status, 'fail');
      assert.match(doctor?.message ?? '', /nginx -t .* fails: .*unknown directive "proxy_buffer_sizes"/);
      const done = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v3' });
      assert.equal(done.operation.outcome, 'failed');
      assert.equal(done.operation.error?.code, 'ROUTER_CONFIG_REJECTED');
      assert.match(
        done.operation.error?.message ?? '',
        /traffic was not moved: .*unknown directive "proxy_buffer_sizes"/,
      );
      assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v1' });
      const status = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
      assert.equal(status.active?.version, 'v1');
      const { releases } = await h.client.request<{ releases: ReleaseRecord[] }>('GET', '/api/v1/services/web/history');
      assert.equal(releases.find((r) => r.version === 'v3')?.state, 'failed');
    } finally {
      fs.writeFileSync(nginx.teamFile, good);
    }
    const doctor = (await runDoctor({ configFile: h.configFile, env: {} })).find((r) => r.id === 'router.nginx');
    assert.equal(doctor?.status, 'ok', doctor?.message);
    const again = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v3' });
    assert.equal(again.operation.outcome, 'succeeded', JSON.stringify(again.operation.error));
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v3' });
  });
});

describe('a cutover server SIGKILLed and restarted behind nginx', () => {
  it('nginx serves on while cutover is down, and the restarted server takes its routes back without a reload', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-nginx-restart-'));
    const own = await startNginxServer();
    const proxyPort = await findFreePort();
    const adminPort = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      await configYaml(
        dir,
        {
          strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
          serverYaml: `  router: nginx\n  nginx: { main_config: ${own.mainConfig}, include_file: ${own.includeFile}, pid_file: ${own.pidFile} }\n`,
        },
        { proxy: proxyPort, admin: adminPort },
      ),
    );
    let server = await startServerProcess('cutover.yaml', dir, adminPort);
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    try {
      const client = (): AdminClient =>
        new AdminClient({ url: `http://127.0.0.1:${adminPort}`, token: readToken(path.join(dir, 'state'), {}) ?? '' });
      const deployed = await operate(client(), '/api/v1/services/web/deploy', { version: 'v1' });
      assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
      const traffic = new SteadyTraffic({
        url: proxyUrl,
        host: 'web.localhost',
        ratePerSecond: 100,
        connections: 4,
        maxDurationMs: 30_000,
      }).start();
      await traffic.waitForAnswers(20);
      server.kill('SIGKILL');
      await waitForExit(server);
      // cutover is gone; nginx and the instances are not.
      await traffic.waitForAnswers(50);
      const generation = fs.readFileSync(own.includeFile, 'utf8');
      server = await startServerProcess('cutover.yaml', dir, adminPort);
      await traffic.waitForAnswers(50);
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, `failed while cutover was down or restarting: ${summary.firstErrors.join('; ')}`);
      assert.deepEqual(Object.keys(summary.byVersion), ['v1']);
      assert.deepEqual(await versionAt(proxyUrl), { status: 200, version: 'v1' });
      // The restarted server's routes are the ones nginx serves: it found them there and reloaded nothing
      // (a reload would close kept-alive client connections, and a client can lose a request to that race).
      assert.equal(fs.readFileSync(own.includeFile, 'utf8'), generation);
      assert.match(fs.readFileSync(own.includeFile, 'utf8'), /server_name web\.localhost/);
    } finally {
      await downServerProcess(server, dir);
      await own.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
