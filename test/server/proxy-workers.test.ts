import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { RemoteProxyRouter } from '../../src/router/proxy-process/remote-proxy-router.js';
import { SAMPLE_APP, startHarness, type Harness, errorRateTemplateYaml } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

// `server.proxy_workers: 2`: two processes accept on the proxy's port. Every
// strategy still loses nothing under load, both processes route by the same
// table (a canary key goes the same way whichever one it meets), and the
// builtin analysis judges a canary by the counters of both.
describe('the proxy with two workers', () => {
  let h: Harness;
  const status = (service: string): Promise<ServiceStatus> =>
    h.client.request<ServiceStatus>('GET', `/api/v1/services/${service}`);

  /** One request on a connection of its own, so the kernel gives it to either process. */
  async function versionFor(host: string, user: string): Promise<string> {
    const response = await request(`${h.proxyUrl}/`, {
      headers: { host, 'x-user-id': user, connection: 'close' },
      reset: true,
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.body.json()) as { version?: string };
    assert.equal(response.statusCode, 200);
    return body.version ?? '?';
  }

  /** The version each of `count` users gets, 50 requests at a time. */
  async function assignments(count: number): Promise<string[]> {
    const versions: string[] = [];
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, (_, i) =>
        versionFor('shop.localhost', `u${start + i}`),
      );
      versions.push(...(await Promise.all(batch)));
    }
    return versions;
  }

  async function untilCanaryWeight(weight: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await status('shop')).canary?.weight !== weight) {
      if (Date.now() > deadline) throw new Error(`the canary did not reach weight ${weight}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async () => {
    h = await startHarness({
      instances: 2,
      serverYaml: '  proxy_workers: 2\n',
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      drainTimeout: '2s',
      extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps: [ { weight: 5, pause: promote }, { weight: 50, pause: promote }, { weight: 100 } ]
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      analysis: [errors]
  roll:
    hosts: [roll.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 3
    health: { path: /health, interval: 200ms }
    strategy: { type: rolling, parallelism: 1, order: start-first, monitor: 500ms, timeout: 20s }
    drain_timeout: 2s
`,
      topLevelYaml: `analysis:
${errorRateTemplateYaml('300ms')}`,
    });
    for (const service of ['web', 'shop', 'roll']) {
      const first = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1' });
      assert.equal(first.operation.outcome, 'succeeded', `${service} v1`);
    }
  });

  after(async () => {
    await h?.close();
  });

  it('each of the two processes serves on its own, with the routes', async () => {
    const proxy = (h.server.router as RemoteProxyRouter).proxy;
    assert.equal(proxy.workers, 2);
    assert.equal(proxy.workerPids.length, 1);
    for (const pid of [proxy.pid, proxy.workerPids[0] as number]) {
      // The other process alone accepts while this one is stopped: the socket's one queue feeds whoever accepts.
      process.kill(pid, 'SIGSTOP');
      try {
        const versions = await Promise.all(Array.from({ length: 20 }, (_, i) => versionFor('web.localhost', `s${i}`)));
        assert.deepEqual(new Set(versions), new Set(['v1']));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    }
  });

  it('blue-green, a canary 5 → 50 → 100 and a rolling batch under load: 0 failed; canary keys agree in both processes', async (t) => {
    const loads = ['web', 'shop', 'roll'].map((service) =>
      new SteadyTraffic({
        url: h.proxyUrl,
        host: `${service}.localhost`,
        ratePerSecond: 70,
        connections: 8,
        clientHeader: 'x-user-id',
        distinctClients: 500,
        maxDurationMs: 90_000,
        maxRequests: 6_000,
      }).start(),
    );
    try {
      await Promise.all(loads.map((load) => load.waitForAnswers(50)));
      const web = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(web.operation.outcome, 'succeeded');
      const roll = await operate(h.client, '/api/v1/services/roll/deploy', { version: 'v2' });
      assert.equal(roll.operation.outcome, 'succeeded');

      const deploy = h.client.request<{ operation: { id: string } }>('POST', '/api/v1/services/shop/deploy', {
        version: 'v2',
      });
      await deploy;
      await untilCanaryWeight(5);
      const atFive = await assignments(2_000);
      const shareAtFive = atFive.filter((v) => v === 'v2').length / atFive.length;
      await h.client.request('POST', '/api/v1/services/shop/promote', {});
      await untilCanaryWeight(50);
      const atFifty = await assignments(2_000);
      const shareAtFifty = atFifty.filter((v) => v === 'v2').length / atFifty.length;
      t.diagnostic(`canary share ${(shareAtFive * 100).toFixed(1)}% at 5, ${(shareAtFifty * 100).toFixed(1)}% at 50`);
      assert.ok(Math.abs(shareAtFive - 0.05) <= 0.02, `share at weight 5: ${shareAtFive}`);
      assert.ok(Math.abs(shareAtFifty - 0.5) <= 0.02, `share at weight 50: ${shareAtFifty}`);
      // Sticky: a user on the canary at 5 is still on it at 50, whichever process each request met.
      const flipped = atFive.slice(0, 1_000).filter((v, i) => v === 'v2' && atFifty[i] !== 'v2').length;
      assert.equal(flipped, 0, 'users moved off the canary as its weight rose');
      await h.client.request('POST', '/api/v1/services/shop/promote', {});
      const deadline = Date.now() + 30_000;
      while ((await status('shop')).active?.version !== 'v2') {
        assert.ok(Date.now() < deadline, 'the canary was promoted');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      const summaries = await Promise.all(loads.map((load) => load.stop()));
      for (const [i, summary] of summaries.entries()) {
        t.diagnostic(`${['web', 'shop', 'roll'][i]}: ${summary.sent} sent, ${summary.failed} failed`);
        assert.equal(summary.failed, 0, summary.firstErrors.join('; '));
      }
    }
  });

  it('the builtin analysis aborts a canary failing 20% of requests, counting what both processes served', async () => {
    const load = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      ratePerSecond: 150,
      connections: 8,
      clientHeader: 'x-user-id',
      distinctClients: 2_000,
      maxDurationMs: 60_000,
    }).start();
    try {
      await load.waitForAnswers(50);
      const started = h.client.request('POST', '/api/v1/services/shop/deploy', { version: 'v3-errors20' });
      await started;
      await untilCanaryWeight(5);
      // Users land on the canary whichever process they meet; promote so enough of them reach it to judge.
      await h.client.request('POST', '/api/v1/services/shop/promote', {});
      const deadline = Date.now() + 40_000;
      let s = await status('shop');
      while (s.operation !== null || s.canary !== null) {
        assert.ok(Date.now() < deadline, 'the analysis ended the canary');
        await new Promise((resolve) => setTimeout(resolve, 200));
        s = await status('shop');
      }
      assert.equal(s.active?.version, 'v2', 'the stable release serves again');
      assert.ok(
        s.analysis.some((m) => m.phase === 'failed' && m.metric === 'error-rate'),
        'the error rate failed the canary',
      );
    } finally {
      const summary = await load.stop();
      // Only the canary's own simulated failures: the proxy failed nothing.
      assert.deepEqual(Object.keys(summary.failedByVersion), summary.failed === 0 ? [] : ['v3-errors20']);
      const counted = h.server.router
        .counters()
        .filter((c) => c.service === 'shop')
        .reduce((n, c) => n + c.requests, 0);
      await h.server.router.refreshCounters?.();
      const total = h.server.router
        .counters()
        .filter((c) => c.service === 'shop')
        .reduce((n, c) => n + c.requests, 0);
      assert.ok(total >= counted);
      assert.ok(total >= summary.sent - summary.connectionErrors, `the proxy counted ${total} of ${summary.sent}`);
    }
  });
});
