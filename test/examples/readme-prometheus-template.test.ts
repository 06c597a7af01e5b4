import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { TOKEN_FILE } from '../../src/http/admin-token.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { EventRecord } from '../../src/store/records.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { markdownBlocks } from '../support/markdown-blocks.js';
import { operate } from '../support/operations.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server.js';

/**
 * Issue 20, item 15: the README's `prom` metric asked Prometheus for an app metric a reader's Prometheus does not
 * have, so the answer was "no data", every measurement an error, and every canary paused after 41 s. The README's
 * `prom-errors` template now asks for cutover's own 5xx counter. Here it runs as the README writes it (only its
 * URL is this test's Prometheus, which scrapes cutover's /metrics with the admin token, as the README says):
 * a good canary step is judged and passes without a pause, and a canary that answers 20 % 5xx is rolled back.
 */
interface Metric {
  name: string;
  interval?: string;
  provider: { prometheus: { url: string; query: string } };
}

function readmeTemplate(): { metrics: Metric[] } {
  for (const block of markdownBlocks('README.md', 'yaml')) {
    const analysis = (parse(block.text) as { analysis?: Record<string, { metrics: Metric[] }> }).analysis;
    if (analysis?.['prom-errors']) return analysis['prom-errors'];
  }
  assert.fail('README.md has no YAML block with analysis.prom-errors');
}

function measured(events: EventRecord[], metric: string): { value: unknown; phase: string }[] {
  return events
    .filter((e) => e.type === 'analysis.measurement')
    .map((e) => e.data as { metric: string; value: unknown; phase: string })
    .filter((d) => d.metric === metric);
}

describe("the README's Prometheus template against a real Prometheus", () => {
  const template = readmeTemplate();
  const metric = template.metrics[0]!;
  let h: Harness;
  let prometheus: PrometheusServer;

  async function deployUnderTraffic(version: string): Promise<{ outcome: string | null; events: EventRecord[] }> {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      // The bad canary's 20 % of its half of this is 15 5xx/s. Ten seconds into the step, the one measurement it
      // gets there, rate(…[1m]) of a 5xx series that began with the step has about ten seconds of increase over
      // its minute: ~2.5/s here, clear of the template's "> 1". At 60 req/s it came to ~1.0 and passed at times.
      ratePerSecond: 150,
      clientHeader: 'x-user-id',
      maxDurationMs: 40_000,
    }).start();
    try {
      await traffic.waitForAnswers(30);
      const done = await operate(h.client, '/api/v1/services/shop/deploy', { version });
      return { outcome: done.operation.outcome, events: done.events };
    } finally {
      await traffic.stop();
    }
  }

  before(async () => {
    const prometheusPort = await findFreePort();
    const asWritten = structuredClone(template);
    asWritten.metrics[0]!.provider.prometheus.url = `http://127.0.0.1:${prometheusPort}`;
    h = await startHarness({
      instances: 1,
      extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps: [{ weight: 50, pause: 12s, analysis: [prom-errors] }, { weight: 100 }]
      stickiness: { by: header, name: X-User-Id }
      timeout: 20s
    drain_timeout: 2s
`,
      topLevelYaml: stringify({ analysis: { 'prom-errors': asWritten } }),
    });
    const first = await operate(h.client, '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    prometheus = await startPrometheus({
      port: prometheusPort,
      scrapeConfigs: [
        {
          job_name: 'cutover',
          scrape_interval: '2s',
          scrape_timeout: '2s',
          authorization: { type: 'Bearer', credentials_file: path.join(h.dir, 'state', TOKEN_FILE) },
          static_configs: [{ targets: [`127.0.0.1:${h.adminPort}`] }],
        },
      ],
    });
  });

  after(async () => {
    await prometheus?.stop();
    await h?.close();
  });

  it('names cutover\'s own counter for the service "shop", measured every 10 s', () => {
    assert.match(metric.provider.prometheus.query, /cutover_proxy_responses_total\{service="shop",class="5xx"\}/);
    assert.equal(metric.interval, '10s');
  });

  it('answers no data, never 0, for a service Prometheus has no samples of (a broken scrape must not pass)', async () => {
    const query = metric.provider.prometheus.query.replaceAll('service="shop"', 'service="not-scraped"');
    const response = await request(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const answer = (await response.body.json()) as { status: string; data: { result: unknown[] } };
    assert.equal(answer.status, 'success');
    assert.deepEqual(answer.data.result, []);
  });

  it('a good canary step is judged by it and passes: no pause, promoted', async () => {
    const { outcome, events } = await deployUnderTraffic('v2');
    // A paused canary (an inconclusive step: the old template's "no data") comes back with no outcome.
    assert.equal(outcome, 'succeeded', JSON.stringify(events.slice(-5)));
    const values = measured(events, metric.name);
    // The step's first measurement comes at its start, when Prometheus may not yet hold two samples for rate():
    // that one is "no data" (an error, which never passes); every later one is a measured 0.
    const judged = values.filter((value, i) => !(i === 0 && value.phase === 'error' && value.value === null));
    assert.ok(judged.length >= 1, `the step was measured: ${JSON.stringify(values)}`);
    for (const value of judged) assert.deepEqual(value, { ...value, phase: 'successful', value: 0 });
  });

  it('a canary answering 20 % 5xx fails it and is rolled back', async () => {
    const { outcome, events } = await deployUnderTraffic('v3-errors20');
    assert.equal(outcome, 'failed', JSON.stringify(events.slice(-5)));
    const failed = measured(events, metric.name).filter((m) => m.phase === 'failed');
    assert.ok(failed.length >= 1 && (failed[0]!.value as number) > 1, JSON.stringify(measured(events, metric.name)));
  });
});
