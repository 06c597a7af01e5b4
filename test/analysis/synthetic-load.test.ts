import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SyntheticLoad } from '../../src/analysis/synthetic-load.js';
import { systemClock } from '../../src/clock/system-clock.js';
import type { AnalysisLoadConfig } from '../../src/config/types.js';
import type { Upstream } from '../../src/router/index.js';
import { sleep } from '../support/operations.js';

/**
 * The load generator against real in-test servers: it keeps its rate and
 * its path, marks every request, spreads them over the release's instances,
 * holds while real traffic is enough, counts 5xx and unanswered requests as
 * failed, and sends nothing once stopped.
 */
interface App {
  server: Server;
  upstream: Upstream;
  seen: { url: string; method: string; headers: IncomingHttpHeaders }[];
}

async function startApp(id: string, answer: (url: string) => number | null): Promise<App> {
  const app: App = { server: createServer(), upstream: { id, host: '127.0.0.1', port: 0 }, seen: [] };
  app.server.on('request', (req, res) => {
    app.seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers });
    const status = answer(req.url ?? '');
    if (status === null) return; // hangs: the load's timeout has to end it
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('x');
  });
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  app.upstream.port = (app.server.address() as { port: number }).port;
  return app;
}

const config = (overrides: Partial<AnalysisLoadConfig> = {}): AnalysisLoadConfig => ({
  rate: 20,
  path: '/api/ping?from=test',
  method: 'GET',
  onlyBelow: 20,
  timeoutMs: 2000,
  ...overrides,
});

describe('synthetic load generator', () => {
  let good: App;
  let twin: App;
  let flaky: App;

  before(async () => {
    good = await startApp('good-0', () => 200);
    twin = await startApp('good-1', () => 200);
    let n = 0;
    // Every other request fails: one with a 500, the next one hangs.
    flaky = await startApp('flaky-0', () => (++n % 2 === 0 ? 200 : n % 4 === 1 ? 500 : null));
  });
  after(async () => {
    for (const app of [good, twin, flaky]) {
      app.server.closeAllConnections();
      app.server.close();
    }
  });

  it('sends the rate to every instance, marked synthetic, and nothing once stopped', async () => {
    const load = new SyntheticLoad(config(), {
      targets: () => [good.upstream, twin.upstream],
      realRequests: () => 0,
      clock: systemClock,
    });
    load.start();
    await sleep(1000);
    await load.stop();
    const seen = [...good.seen, ...twin.seen];
    // 20/s for a second: 21 with the one at the start; a loaded machine may fire a tick late.
    assert.ok(seen.length >= 17 && seen.length <= 22, `sent ${seen.length}`);
    assert.ok(good.seen.length >= 8 && twin.seen.length >= 8, 'round robin over the instances');
    for (const request of seen) {
      assert.equal(request.url, '/api/ping?from=test');
      assert.equal(request.method, 'GET');
      assert.equal(request.headers['x-cutover-synthetic'], '1');
    }
    const tally = load.tally();
    assert.equal(tally.requests, seen.length);
    assert.equal(tally.failed, 0);
    assert.equal(tally.latency.count, tally.responses);
    const count = seen.length;
    await sleep(300);
    assert.equal(good.seen.length + twin.seen.length, count, 'no request after stop');
  });

  it('holds while the real traffic to the release reaches only_below', async () => {
    good.seen.length = 0;
    const startedAt = Date.now();
    // 50 real requests a second, against a threshold of 10: the first reading a second in holds the load.
    const load = new SyntheticLoad(config({ rate: 20, onlyBelow: 10 }), {
      targets: () => [good.upstream],
      realRequests: () => Math.floor(((Date.now() - startedAt) * 50) / 1000),
      clock: systemClock,
    });
    load.start();
    await sleep(1300);
    const atHold = good.seen.length;
    await sleep(1000);
    const summary = load.summary();
    await load.stop();
    assert.ok(atHold > 0 && atHold <= 24, `sent ${atHold} before holding`);
    assert.equal(good.seen.length, atHold, 'nothing sent while held');
    assert.ok(summary.heldMs >= 900, `held ${summary.heldMs} ms`);
  });

  it('counts 5xx and unanswered requests as failed, and says why', async () => {
    const load = new SyntheticLoad(config({ rate: 10, timeoutMs: 200, method: 'HEAD' }), {
      targets: () => [flaky.upstream],
      realRequests: () => null,
      clock: systemClock,
    });
    load.start();
    await sleep(1000);
    const { responses, failed, lastError } = load.summary();
    await load.stop();
    assert.ok(responses >= 6, `answered ${responses}`);
    assert.ok(
      failed >= Math.floor(responses / 2) - 1 && failed <= Math.ceil(responses / 2) + 1,
      `${failed}/${responses}`,
    );
    assert.match(lastError ?? '', /no answer from 127\.0\.0\.1:\d+ within 200 ms/);
    assert.ok(flaky.seen.every((r) => r.method === 'HEAD'));
  });

  it('sends nothing and drops what is due while the release has no healthy instance', async () => {
    const load = new SyntheticLoad(config({ rate: 10 }), {
      targets: () => [],
      realRequests: () => 0,
      clock: systemClock,
    });
    load.start();
    await sleep(500);
    await load.stop();
    const summary = load.summary();
    assert.equal(summary.requests, 0);
    assert.ok(summary.dropped >= 4, `dropped ${summary.dropped}`);
  });
});
