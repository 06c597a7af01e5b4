import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { BuiltinProvider, type BuiltinMetric } from '../../src/analysis/builtin-provider.js';
import type { MeasurementContext } from '../../src/analysis/index.js';
import type { ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';

/**
 * The builtin metrics read the real proxy's counters: traffic goes through a
 * ProxyRouter to in-test servers, the canary failing one request in five
 * after 50 ms, the stable (and a twin of it) answering every request after
 * 10 ms. Each window
 * counts only the traffic after it began.
 */
interface Upstream {
  server: Server;
  port: number;
  served: number;
}

let proxy: ProxyRouter;
let canary: Upstream;
let stable: Upstream;
/** Another healthy release, as fast as the stable. */
let twin: Upstream;
const agent = new Agent({ connections: 16 });
/** Latencies seen by the client, per release: the stand-in for the proxy's reservoir sample. */
const latencies = new Map<string, number[]>();

async function startUpstream(delayMs: number, failEvery: number | null): Promise<Upstream> {
  const upstream: Upstream = { server: createServer(), port: 0, served: 0 };
  upstream.server.on('request', (_req, res) => {
    const n = ++upstream.served;
    setTimeout(() => {
      const failed = failEvery !== null && n % failEvery === 0;
      res.writeHead(failed ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(failed ? 'boom' : 'ok');
    }, delayMs);
  });
  upstream.server.listen(0, '127.0.0.1');
  await once(upstream.server, 'listening');
  upstream.port = (upstream.server.address() as { port: number }).port;
  return upstream;
}

function routeTo(releaseId: string, upstream: Upstream): ServiceRoute {
  return {
    service: 'web',
    hosts: ['web.test'],
    default: true,
    target: {
      releaseId,
      version: releaseId,
      slot: 'blue',
      upstreams: [{ id: `${releaseId}-0`, host: '127.0.0.1', port: upstream.port }],
    },
  };
}

/** Sends `count` requests through the proxy, `concurrency` at a time, recording client-side latencies under the release. */
async function send(releaseId: string, count: number, concurrency = 10): Promise<void> {
  const samples = latencies.get(releaseId) ?? [];
  latencies.set(releaseId, samples);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const started = performance.now();
      const response = await request(`http://127.0.0.1:${proxy.address.port}/`, {
        headers: { host: 'web.test' },
        dispatcher: agent,
      });
      await response.body.text();
      samples.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

let windowClock = 1_700_000_000_000;
function newWindow(): MeasurementContext {
  windowClock += 1000;
  return {
    service: 'web',
    canaryReleaseId: 'web-2',
    stableReleaseId: 'web-1',
    windowStart: windowClock,
    latencySamples: (_service, releaseId) => latencies.get(releaseId) ?? [],
  };
}

function provider(metric: BuiltinMetric): BuiltinProvider {
  return new BuiltinProvider(metric, { counters: () => proxy.counters() });
}

before(async () => {
  [canary, stable, twin] = await Promise.all([startUpstream(50, 5), startUpstream(10, null), startUpstream(10, null)]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await agent.close();
  await proxy.close();
  canary.server.close();
  stable.server.close();
  twin.server.close();
});

describe('builtin metrics from the proxy counters', () => {
  it('measures no traffic as an error, so it cannot pass a canary', async () => {
    await proxy.setRoute(routeTo('web-2', canary));
    const errors = provider('error-rate');
    const context = newWindow();
    errors.beginWindow(context);
    const result = await errors.measure(context);
    assert.ok('error' in result, `expected an error, got ${JSON.stringify(result)}`);
    assert.match(result.error, /^no requests yet/);
    assert.ok('error' in (await provider('latency-p95').measure(context)));
  });

  it('reads the canary error rate, latency percentiles and request count of the window only', async () => {
    await proxy.setRoute(routeTo('web-2', canary));
    await send('web-2', 40); // before the window: not counted
    const metrics = {
      errors: provider('error-rate'),
      p50: provider('latency-p50'),
      p95: provider('latency-p95'),
      p99: provider('latency-p99'),
      count: provider('request-count'),
    };
    const context = newWindow();
    for (const metric of Object.values(metrics)) metric.beginWindow(context);
    canary.served = 0; // the upstream fails its 5th, 10th, ... request from here
    await send('web-2', 100);

    const rate = await metrics.errors.measure(context);
    assert.deepEqual(rate, { value: 0.2, message: '20 errors in 100 responses' });
    assert.deepEqual(await metrics.count.measure(context), {
      value: 100,
      message: '100 requests to web-2 in the window',
    });

    const value = async (metric: BuiltinProvider) => {
      const result = await metric.measure(context);
      assert.ok('value' in result, JSON.stringify(result));
      return result.value as number;
    };
    const [p50, p95, p99] = [await value(metrics.p50), await value(metrics.p95), await value(metrics.p99)];
    // The upstream answers after 50 ms: the median lies in the 50-100 ms bucket (or just below, timers being timers).
    assert.ok(p50 > 25 && p50 <= 100, `p50 ${p50}`);
    assert.ok(p50 <= p95 && p95 <= p99 && p99 <= 500, `p50 ${p50}, p95 ${p95}, p99 ${p99}`);
  });

  it('starts the window at the first measure when nobody began it (a restarted controller)', async () => {
    await proxy.setRoute(routeTo('web-2', canary));
    await send('web-2', 20);
    const count = provider('request-count');
    const context = newWindow();
    const first = await count.measure(context);
    assert.ok('error' in first && /window starts with this measurement/.test(first.error), JSON.stringify(first));
    await send('web-2', 30);
    assert.deepEqual(await count.measure(context), { value: 30, message: '30 requests to web-2 in the window' });
  });
});

describe('builtin baseline: the canary judged against the stable over the same window', () => {
  it('fails a slower canary that errs more (0), and passes two equal releases (1)', async () => {
    const judge = provider('baseline');
    const context = newWindow();
    judge.beginWindow(context);
    latencies.clear();
    // Alternate the route so both releases see traffic in the window, as they would side by side.
    for (let round = 0; round < 4; round++) {
      await proxy.setRoute(routeTo('web-1', stable));
      await send('web-1', 40);
      await proxy.setRoute(routeTo('web-2', canary));
      await send('web-2', 40);
    }
    const verdict = await judge.measure(context);
    assert.ok('value' in verdict, JSON.stringify(verdict));
    assert.equal(verdict.value, 0);
    assert.match(verdict.message ?? '', /^fail: latency regressed: .*error rate regressed/);

    // A canary as fast and as healthy as the stable.
    const same: MeasurementContext = { ...newWindow(), canaryReleaseId: 'web-3' };
    judge.beginWindow(same);
    latencies.clear();
    for (let round = 0; round < 4; round++) {
      await proxy.setRoute(routeTo('web-1', stable));
      await send('web-1', 40);
      await proxy.setRoute(routeTo('web-3', twin));
      await send('web-3', 40);
    }
    const pass = await judge.measure(same);
    assert.ok('value' in pass, JSON.stringify(pass));
    assert.equal(pass.value, 1, pass.message);
  });

  it('is an error while there are too few samples, or nothing to compare with', async () => {
    const judge = provider('baseline');
    const context = newWindow();
    judge.beginWindow(context);
    latencies.clear();
    await proxy.setRoute(routeTo('web-2', canary));
    await send('web-2', 10);
    const early = await judge.measure(context);
    assert.ok('error' in early, JSON.stringify(early));
    assert.match(early.error, /^not enough data to judge yet: canary: needs ≥ 50 samples, has 10/);

    assert.deepEqual(await judge.measure({ ...context, stableReleaseId: null }), {
      error: 'no stable release to compare the canary with',
    });
    const { latencySamples: _unused, ...withoutSamples } = context;
    assert.match(((await judge.measure(withoutSamples)) as { error: string }).error, /no latency samples/);
  });
});
