import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { SAMPLE_APP, startHarness, type Harness, errorRateTemplateYaml } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';
import { runCli } from '../support/cli-process.js';
import type { OperationRecord } from '../../src/store/records.js';

// A rolling update replaces four instances one at a time, start-first, under
// steady load: every old instance leaves the rotation and drains before it
// stops, every new one joins only when healthy. A version whose second
// instance never gets healthy is rolled back to four old instances.
describe('rolling and recreate updates', () => {
  let h: Harness;
  const status = (name: string): Promise<ServiceStatus> =>
    h.client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);

  before(async () => {
    h = await startHarness({
      instances: 1,
      extraServiceYaml: `  api:
    hosts: [api.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 4
    critical: true
    health: { path: /health, interval: 200ms, unhealthy_threshold: 2 }
    strategy: { type: rolling, parallelism: 1, order: start-first, monitor: 500ms, failure_action: rollback, timeout: 10s }
    drain_timeout: 3s
  dev:
    hosts: [dev.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy: { type: recreate, timeout: 5s }
  jobs:
    hosts: [jobs.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    critical: true
    health: { path: /health, interval: 200ms }
    strategy: { type: rolling, monitor: 2s, failure_action: rollback, timeout: 5s, analysis: [errors] }
    drain_timeout: 2s
`,
      topLevelYaml: `analysis:
${errorRateTemplateYaml('300ms')}`,
    });
    const first = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    assert.equal((await status('api')).active?.running, '4/4');
  });
  after(async () => {
    await h?.close();
  });

  it('replaces 4 instances with parallelism 1, start-first, under steady load with 0 failed requests', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'api.localhost',
      ratePerSecond: 200,
      maxDurationMs: 40_000,
    }).start();
    let events;
    try {
      await traffic.waitForAnswers(100);
      const done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v2' });
      events = done.events;
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      await traffic.waitForAnswers(100);
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, summary.firstErrors.join(' | '));
      assert.equal(summary.connectionErrors, 0);
      assert.ok((summary.byVersion.v1 ?? 0) > 0 && (summary.byVersion.v2 ?? 0) > 0, JSON.stringify(summary.byVersion));
    }
    const shares = events.filter((e) => e.type === 'rolling.share').map((e) => (e.data as { weight: number }).weight);
    assert.deepEqual(
      shares.filter((w, i) => w !== shares[i - 1]),
      [25, 50, 75, 100],
    );
    const s = await status('api');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '4/4');
    assert.equal(s.standby, null, 'a rolling update keeps no second set of instances');
  });

  it('a version that fails health at instance 2 is rolled back to 4 old instances, and says why', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'api.localhost',
      ratePerSecond: 150,
      maxDurationMs: 40_000,
    }).start();
    const done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v3-unhealthy-at-1' });
    await traffic.waitForAnswers(100);
    const summary = await traffic.stop();
    assert.equal(done.operation.outcome, 'failed');
    assert.equal(done.operation.error?.code, 'ROLLING_BATCH_FAILED');
    assert.match(done.operation.error?.message ?? '', /batch 2 failed: .*api\/api-3\/[a-z]+-1 is (starting|unhealthy)/);
    assert.ok(done.events.some((e) => e.type === 'rolling.rolled-back'));
    const s = await status('api');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '4/4', 'four old instances serve again');
    assert.deepEqual(
      s.active?.instances.map((i) => i.index),
      [0, 1, 2, 3],
    );
    assert.equal(summary.failed, 0, summary.firstErrors.join(' | '));
    assert.ok(!('v3-unhealthy-at-1' in summary.failedByVersion));
  });

  it('recreate stops everything, then starts the new version (documented downtime)', async () => {
    const first = await operate(h.client, '/api/v1/services/dev/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded');
    const done = await operate(h.client, '/api/v1/services/dev/deploy', { version: 'v2' });
    assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
    assert.ok(
      done.events.some((e) => e.type === 'deploy.started' && /down until the new ones are healthy/.test(e.message)),
    );
    const s = await status('dev');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '2/2');
  });

  it('deploy --all updates non-critical services first, then each critical one alone', async () => {
    const result = await runCli(['deploy', '--all', '--version', 'v9'], { cwd: h.dir });
    assert.equal(result.code, 0, result.stderr + result.stdout);
    // The waves run on the server now (POST /api/v1/deploys); the CLI prints the wave operation's events.
    assert.match(result.stdout, /wave 1 of 3: web, dev/);
    assert.match(result.stdout, /wave 2 of 3: api/);
    assert.match(result.stdout, /wave 3 of 3: jobs/);
    const last = async (name: string): Promise<OperationRecord> =>
      (await h.client.request<{ operations: OperationRecord[] }>('GET', `/api/v1/services/${name}/history`))
        .operations[0]!;
    const [web, dev, api] = [await last('web'), await last('dev'), await last('api')];
    for (const op of [web, dev, api]) assert.equal(op.outcome, 'succeeded');
    assert.ok(
      api.startedAt >= Math.max(web.finishedAt!, dev.finishedAt!),
      'the critical service started after the others were healthy',
    );
    assert.equal((await status('api')).active?.version, 'v9');
  });

  it('a batch whose analysis fails in the monitor window is rolled back', async () => {
    // Traffic from the start: when jobs already runs (the --all wave above), v1 is a rolling update whose
    // batch analysis needs requests to vouch for it; without any it is inconclusive and pauses (issue 20).
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'jobs.localhost',
      ratePerSecond: 150,
      maxDurationMs: 60_000,
    }).start();
    const first = await operate(h.client, '/api/v1/services/jobs/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation));
    await traffic.waitForAnswers(50);
    const done = await operate(h.client, '/api/v1/services/jobs/deploy', { version: 'v2-errors20' });
    await traffic.stop();
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.match(done.operation.error?.message ?? '', /batch 1 failed: the batch analysis failed/);
    assert.ok(
      done.events.some((e) => e.type === 'analysis.measurement' && (e.data as { phase: string }).phase === 'failed'),
    );
    const s = await status('jobs');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.running, '2/2');
  });
});
