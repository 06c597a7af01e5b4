import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { EventRecord } from '../../src/store/records.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep } from '../support/operations.js';

// Services nobody calls: without help their analysis has nothing to judge
// ("no requests yet"). With `load:` on the template, the analysis sends its
// own requests straight to the new release's instances: a healthy canary
// passes, one that fails the load's path is rolled back, blue-green's
// pre_promotion judges the standby release the same way, and none of those
// requests shows up in what the proxy counts for users.
describe('analysis with a synthetic load on quiet services', () => {
  let h: Harness;
  const status = (): Promise<ServiceStatus> => h.client.request<ServiceStatus>('GET', '/api/v1/services/quiet');

  /** What an instance served on its app paths, and how much of it was synthetic (the sample app's /stats). */
  async function appStats(port: number): Promise<{ served: number; synthetic: number }> {
    const response = await request(`http://127.0.0.1:${port}/stats`);
    return (await response.body.json()) as { served: number; synthetic: number };
  }

  /** The proxy's user-facing request counter of the service, as a scrape of /metrics sees it. */
  async function proxyRequests(): Promise<number> {
    const response = await request(`${h.server.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    const text = await response.body.text();
    let total = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('cutover_proxy_requests_total{') && line.includes('service="quiet"'))
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  }

  before(async () => {
    h = await startHarness({
      instances: 1,
      extraServiceYaml: `  quiet:
    hosts: [quiet.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps:
        - { weight: 10, pause: 2500ms, analysis: [probe] }
        - { weight: 100 }
      on_inconclusive: fail
      timeout: 10s
    drain_timeout: 1s
  silent:
    hosts: [silent.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps:
        - { weight: 10, pause: 1500ms, analysis: [real-only] }
        - { weight: 100 }
      on_inconclusive: fail
      timeout: 10s
    drain_timeout: 1s
  gate:
    hosts: [gate.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, auto_switch: true, pre_promotion: { window: 1500ms, analysis: [probe] }, on_inconclusive: fail, timeout: 10s }
    drain_timeout: 1s
`,
      topLevelYaml: `analysis:
  probe:
    load: { rate: 20, path: /api/ping }
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 500ms
        failure_condition: result > 0.05
  real-only:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 500ms
        failure_condition: result > 0.05
`,
    });
    const first = await operate(h.client, '/api/v1/services/quiet/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const gate = await operate(h.client, '/api/v1/services/gate/deploy', { version: 'v1' });
    assert.equal(gate.operation.outcome, 'succeeded', JSON.stringify(gate.operation.error));
    const silent = await operate(h.client, '/api/v1/services/silent/deploy', { version: 'v1' });
    assert.equal(silent.operation.outcome, 'succeeded', JSON.stringify(silent.operation.error));
  });
  after(async () => {
    await h?.close();
  });

  it('passes a healthy canary on synthetic requests alone, which the proxy never counts', async () => {
    const before = await proxyRequests();
    const done = await operate(h.client, '/api/v1/services/quiet/deploy', { version: 'v2' });
    assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));

    // A first measurement may come before the load's first answer ("no requests yet"): the judged ones count.
    const measurements = done.events.filter(
      (e) => e.type === 'analysis.measurement' && (e.data as { phase?: string }).phase === 'successful',
    );
    assert.ok(measurements.length >= 2, `measured: ${measurements.map((e) => e.message).join(' | ')}`);
    assert.ok(
      measurements.every((e) => /synthetic: \d+ requests?, 0 failed/.test(e.message)),
      measurements.map((e) => e.message).join(' | '),
    );
    const data = measurements.at(-1)!.data as { value: number; synthetic?: { requests: number; failed: number } };
    assert.equal(data.value, 0);
    assert.ok((data.synthetic?.requests ?? 0) > 0);
    const stopped = done.events.find((e) => e.type === 'analysis.load-stopped');
    assert.ok(stopped, 'the load was stopped with the step');
    assert.ok(done.events.some((e) => e.type === 'analysis.load-started'));

    const s = await status();
    assert.equal(s.active?.version, 'v2');
    const port = s.active.instances[0]!.port;
    const served = await appStats(port);
    assert.ok(served.synthetic >= 20, `the app saw ${served.synthetic} synthetic requests`);
    assert.equal(served.served, served.synthetic, 'nothing but the load called the app');
    assert.equal(await proxyRequests(), before, 'the proxy counted none of the synthetic requests');
    assert.ok((s.active?.traffic?.requests ?? 0) === 0, JSON.stringify(s.active?.traffic));
    const shown = s.analysis.filter((m) => m.phase === 'successful');
    assert.ok(shown.length > 0 && shown.every((m) => (m.synthetic?.requests ?? 0) > 0), 'status shows them synthetic');

    // The window ended with the step: the app's count stays where it was.
    await sleep(1200);
    assert.equal((await appStats(port)).synthetic, served.synthetic, 'no synthetic request after the window');
  });

  it('without load, the same quiet canary has nothing to judge (inconclusive, as before)', async () => {
    const done = await operate(h.client, '/api/v1/services/silent/deploy', { version: 'v2' });
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.match(done.operation.error?.message ?? '', /inconclusive/);
    assert.ok(!done.events.some((e) => e.type.startsWith('analysis.load')));
  });

  it('rolls back a canary that fails the load path, with no user traffic at all', async () => {
    const done = await operate(h.client, '/api/v1/services/quiet/deploy', { version: 'v3-errors50' });
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.equal(done.operation.error?.code, 'ANALYSIS_FAILED');
    const failed = done.events.filter(
      (e: EventRecord) => e.type === 'analysis.measurement' && (e.data as { phase?: string }).phase === 'failed',
    );
    assert.ok(failed.length > 0 && /synthetic: \d+ requests?, [1-9]\d* failed/.test(failed[0]!.message));
    assert.ok(done.events.some((e) => e.type === 'analysis.load-stopped'));
    const s = await status();
    assert.equal(s.active?.version, 'v2', 'the stable release stayed');
    assert.equal(s.canary, null);
  });

  it('lets blue-green judge the new release with builtin metrics before the switch', async () => {
    const good = await operate(h.client, '/api/v1/services/gate/deploy', { version: 'v2' });
    assert.equal(good.operation.outcome, 'succeeded', JSON.stringify(good.operation.error));
    assert.ok(good.events.some((e) => e.type === 'analysis.measurement' && /synthetic: /.test(e.message)));
    const bad = await operate(h.client, '/api/v1/services/gate/deploy', { version: 'v3-errors50' });
    assert.notEqual(bad.operation.outcome, 'succeeded', 'a release failing the load path is not switched to');
    assert.equal(bad.operation.error?.code, 'ANALYSIS_FAILED', JSON.stringify(bad.operation.error));
    const s = await h.client.request<ServiceStatus>('GET', '/api/v1/services/gate');
    assert.equal(s.active?.version, 'v2');
  });
});
