import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { runDoctor } from '../../src/doctor/doctor-checks.js';
import { runningMasterPid } from '../../src/router/haproxy/haproxy-process.js';
import type { HaproxyRouter } from '../../src/router/haproxy/haproxy-router.js';
import { SAMPLE_APP, startHarness, type Harness, errorRateTemplateYaml } from '../support/cutover-harness.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { operate, versionAt } from '../support/operations.js';

// cutover with `router: haproxy`, end to end: the controller's deploys move
// an HAProxy cutover starts itself, through its Runtime API. Blue-green and
// rollback under steady traffic lose nothing (no reload: not even a
// kept-alive connection is reset); a canary of a bad version is judged by the
// builtin analysis from HAProxy's `show stat` and rolled back; a canary of a
// slow version is judged by the baseline judge (Mann-Whitney) from the
// latencies of HAProxy's request log, and rolled back.
let h: Harness;

before(async () => {
  if (!haproxyInstalled())
    throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
  h = await startHarness({
    strategy: '{ type: blue-green, auto_switch: true, timeout: 20s, scale_down_delay: 10m }',
    serverYaml: '  router: haproxy\n',
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
  cart:
    hosts: [cart.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy:
      type: canary
      steps: [{ weight: 50, pause: 20s }, { weight: 100 }]
      analysis: [judge]
      timeout: 20s
`,
    topLevelYaml: `analysis:
${errorRateTemplateYaml('500ms')}  judge:
    metrics:
      - name: against-stable
        provider: { builtin: baseline }
        interval: 500ms
        failure_condition: result < 1
        consecutive_error_limit: 30
`,
  });
  for (const service of ['web', 'shop', 'cart']) {
    const first = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true });
    assert.equal(first.operation.outcome, 'succeeded', `${service}: ${JSON.stringify(first.operation.error)}`);
  }
});

after(async () => {
  const pidFile = (h?.server.router as HaproxyRouter | undefined)?.pidFile;
  await h?.close();
  if (pidFile !== undefined) assert.equal(runningMasterPid(pidFile), null, 'stopping cutover stops its HAProxy');
});

describe('deploys through HAProxy (router: haproxy)', () => {
  it('HAProxy serves what the controller routed', async () => {
    assert.equal(h.server.router.kind, 'haproxy');
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v1' });
    assert.deepEqual(await versionAt(h.proxyUrl, 'shop.localhost'), { status: 200, version: 'v1' });
  });

  it('cutover doctor checks the HAProxy version and finds the running one answering', async () => {
    const results = await runDoctor({ configFile: h.configFile, env: {} });
    const check = results.find((r) => r.id === 'router.haproxy');
    assert.equal(check?.status, 'ok', JSON.stringify(check));
    assert.match(
      check?.message ?? '',
      /^HAProxy 2\.\d+\S*; cutover's HAProxy runs \(pid \d+\) and its Runtime API answers$/,
    );
    assert.equal(
      results.find((r) => r.id === 'router.proxy'),
      undefined,
      'HAProxy holding the proxy port is expected',
    );
  });

  it('blue-green v1 → v2 under steady traffic, then a rollback, with no failed request', async () => {
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
    // Switches go through the Runtime API, never a reload: no connection is reset either.
    assert.equal(summary.failed, 0, `failed: ${summary.firstErrors.join('; ')}`);
  });

  it('a canary of a bad version is judged from show stat and rolled back by the builtin analysis', async () => {
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
        `show stat counted the canary's errors: ${JSON.stringify(counted)}`,
      );
      assert.deepEqual(await versionAt(h.proxyUrl, 'shop.localhost'), { status: 200, version: 'v1' });
    } finally {
      await traffic.stop();
    }
  });

  it('a canary of a slow version is judged against stable from HAProxy’s request log and rolled back', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'cart.localhost',
      ratePerSecond: 80,
      connections: 4,
      maxDurationMs: 30_000,
    }).start();
    try {
      const done = await operate(h.client, '/api/v1/services/cart/deploy', { version: 'v2-delay40' });
      assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
      assert.match(done.operation.error?.message ?? '', /judge\/against-stable/);
      const failed = h.server.controller.store
        .eventsOfType('cart', 'analysis.measurement')
        .filter((event) => event.message.includes('→ failed'));
      assert.match(failed.at(-1)?.message ?? '', /latency regressed.*Mann-Whitney/, JSON.stringify(failed.at(-1)));
      const canary = h.server.router.latencySamples?.('cart', done.operation.releaseId ?? '') as number[];
      assert.ok(canary.length >= 50, `the canary's latencies were sampled: ${canary.length}`);
      assert.ok(
        // A timer may fire a hair early, HAProxy counts whole ms: a margin, not the exact 40.
        canary.every((ms) => ms >= 35),
        `every canary request took its 40 ms: ${canary.slice(0, 10).join(', ')}`,
      );
      assert.deepEqual(await versionAt(h.proxyUrl, 'cart.localhost'), { status: 200, version: 'v1' });
    } finally {
      await traffic.stop();
    }
  });
});
