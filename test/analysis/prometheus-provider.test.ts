import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MeasurementContext } from '../../src/analysis/index.js';
import { PrometheusProvider } from '../../src/analysis/prometheus-provider.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server.js';

/**
 * Against a real Prometheus (the Debian package's /usr/bin/prometheus, or
 * PROMETHEUS_BIN) scraping an in-test exporter every second: a query that
 * comes out as one number is the value; no data, several series, a bad
 * query, an unreachable or silent server are errors with the reason.
 */
const EXPORTER_TEXT = [
  '# HELP my_metric A gauge per instance.',
  '# TYPE my_metric gauge',
  'my_metric{instance_name="a"} 3',
  'my_metric{instance_name="b"} 4.5',
  '',
].join('\n');

const context: MeasurementContext = {
  service: 'web',
  canaryReleaseId: 'web-2',
  stableReleaseId: 'web-1',
  windowStart: Date.now(),
};

let exporter: Server;
let prometheus: PrometheusServer;
let prometheusUrl: string;

async function freePort(): Promise<number> {
  const server = createTcpServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function provider(query: string, url = prometheusUrl, timeoutMs = 5000): PrometheusProvider {
  return new PrometheusProvider({ url, query, timeoutMs });
}

before(async () => {
  exporter = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(EXPORTER_TEXT);
  });
  exporter.listen(0, '127.0.0.1');
  await once(exporter, 'listening');
  const exporterPort = (exporter.address() as { port: number }).port;

  prometheus = await startPrometheus({
    scrapeConfigs: [
      { job_name: 'exporter', scrape_interval: '1s', static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }] },
    ],
  });
  prometheusUrl = prometheus.url;
  // Ready is not scraped: wait for the first samples of the exporter.
  await prometheus.waitFor('prometheus had no samples of my_metric', 15_000, async () => {
    const result = await provider('count(my_metric) == 2').measure(context);
    return 'value' in result ? true : null;
  });
});

after(async () => {
  await prometheus?.stop();
  exporter?.close();
});

describe('prometheus provider', () => {
  it('reads a vector of one series and a scalar as numbers', async () => {
    assert.deepEqual(await provider('sum(my_metric)').measure(context), { value: 7.5, message: '{} = 7.5' });
    const one = await provider('my_metric{instance_name="b"}').measure(context);
    assert.ok('value' in one, JSON.stringify(one));
    assert.equal(one.value, 4.5);
    assert.match(one.message ?? '', /instance_name="b"/);
    assert.deepEqual(await provider('scalar(sum(my_metric)) * 2').measure(context), {
      value: 15,
      message: 'scalar(sum(my_metric)) * 2 = 15',
    });
  });

  it('reads NaN and infinities as the numbers they name', async () => {
    const nan = await provider('0 / 0').measure(context);
    assert.ok('value' in nan && Number.isNaN(nan.value), JSON.stringify(nan));
    assert.deepEqual(await provider('1 / 0').measure(context), { value: Infinity, message: '1 / 0 = +Inf' });
    assert.deepEqual(await provider('-1 / 0').measure(context), { value: -Infinity, message: '-1 / 0 = -Inf' });
  });

  it('refuses no data, several series and a range vector', async () => {
    assert.deepEqual(await provider('sum(no_such_metric)').measure(context), {
      error: 'query returned no data: sum(no_such_metric)',
    });
    const several = await provider('my_metric').measure(context);
    assert.ok('error' in several, JSON.stringify(several));
    assert.match(
      several.error,
      /^query returned 2 series, a metric needs exactly one \(aggregate it, like sum\(\.\.\.\)\)/,
    );
    assert.match(several.error, /instance_name="a"/);
    const range = await provider('my_metric[1m]').measure(context);
    assert.ok('error' in range && /range vector/.test(range.error), JSON.stringify(range));
  });

  it("passes on Prometheus' own message for a bad query", async () => {
    const result = await provider('sum(my_metric').measure(context);
    assert.ok('error' in result, JSON.stringify(result));
    assert.match(result.error, /^Prometheus refused the query: bad_data: .*parse error/);
  });

  it('reports an unreachable server and one that does not answer in time', async () => {
    const closed = await freePort();
    const unreachable = await provider('sum(my_metric)', `http://127.0.0.1:${closed}`).measure(context);
    assert.ok('error' in unreachable, JSON.stringify(unreachable));
    assert.match(
      unreachable.error,
      new RegExp(`^cannot reach Prometheus at http://127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`),
    );

    const silent = createServer(() => {
      // Never answers.
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const started = Date.now();
      const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      const result = await provider('sum(my_metric)', url, 300).measure(context);
      assert.deepEqual(result, { error: `Prometheus at ${url} did not answer within 300ms` });
      assert.ok(Date.now() - started < 2000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
