import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import type { InstanceEjectionEvent } from '../../src/router/proxy/passive-health.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route, sleep } from '../router/proxy-fixtures.js';
import { startRecordingBackend, type RecordingBackend } from './raw-http.js';

/**
 * Finding 6 of issue 12: a backend that sends its headers and then stalls
 * never completed (no body timeout), each instance took an unbounded queue
 * behind 128 connections, and nothing was configurable: 128 such requests
 * starved every other request of the service while its health checks stayed
 * green. Now per service: timeouts (connect, response_headers, idle), a
 * bounded queue per instance that answers 503 + Retry-After at once, and
 * passive health that ejects an instance failing in a row.
 *
 * Real node:http backends on 127.0.0.1 behind a real proxy; small limits so
 * the load stays bounded (the defaults are 128 + 128 per instance).
 */
let stalling: RecordingBackend;
let failing: RecordingBackend;
let healthy: RecordingBackend;
let proxy: ProxyRouter;
const events: InstanceEjectionEvent[] = [];
const agent = new Agent({ connections: 64 });

before(async () => {
  // Headers and a first chunk at once, then nothing: the hung backend of the finding.
  stalling = await startRecordingBackend((req, res) => {
    if (req.url === '/quiet') return; // not even headers
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk, then silence');
  });
  failing = await startRecordingBackend((req, res) => {
    req.resume();
    res.writeHead(500);
    res.end('boom');
  });
  healthy = await startRecordingBackend();
  proxy = await ProxyRouter.listen({
    host: '127.0.0.1',
    port: 0,
    services: {
      stall: {
        connections: 4,
        pending: 4,
        headersTimeoutMs: 800,
        bodyTimeoutMs: 800,
        passiveHealth: { consecutiveFailures: 0 },
      },
      flaky: { passiveHealth: { consecutiveFailures: 3, ejectionMs: 600, maxEjectionMs: 5_000 } },
      lonely: { passiveHealth: { consecutiveFailures: 3, ejectionMs: 600 } },
      reborn: { passiveHealth: { consecutiveFailures: 3, ejectionMs: 60_000, maxEjectionMs: 60_000 } },
    },
    onInstanceEjection: (event) => events.push(event),
  });
  await proxy.setRoute(
    route('stall', ['stall.test'], 'r-stall', [{ id: 'stall-0', host: '127.0.0.1', port: stalling.port }]),
  );
  await proxy.setRoute(
    route('fine', ['fine.test'], 'r-fine', [{ id: 'fine-0', host: '127.0.0.1', port: healthy.port }]),
  );
  await proxy.setRoute(
    route('flaky', ['flaky.test'], 'r-flaky', [
      { id: 'flaky-bad', host: '127.0.0.1', port: failing.port },
      { id: 'flaky-good', host: '127.0.0.1', port: healthy.port },
    ]),
  );
  await proxy.setRoute(
    route('lonely', ['lonely.test'], 'r-lonely', [{ id: 'lonely-0', host: '127.0.0.1', port: failing.port }]),
  );
});

after(async () => {
  await agent.close();
  await proxy.close();
  await Promise.all([stalling.close(), failing.close(), healthy.close()]);
});

type Outcome =
  { status: number; retryAfter: string | undefined; body: 'complete' | 'cut' } | { status: 'failed'; error: string };

/** One request; a client deadline far above the proxy's timeouts, so a request the proxy never ends shows as failed. */
async function call(host: string, path = '/'): Promise<Outcome> {
  try {
    const response = await request(`http://127.0.0.1:${proxy.address.port}${path}`, {
      headers: { host },
      dispatcher: agent,
      signal: AbortSignal.timeout(8_000),
    });
    const retryAfter = response.headers['retry-after'] as string | undefined;
    try {
      await response.body.text();
      return { status: response.statusCode, retryAfter, body: 'complete' };
    } catch {
      return { status: response.statusCode, retryAfter, body: 'cut' };
    }
  } catch (error) {
    return { status: 'failed', error: String(error) };
  }
}

describe('a backend that sends headers and stalls', () => {
  it('holds at most its connections plus its queue; the rest get 503 + Retry-After at once, and the stalled bodies are cut', async () => {
    const settled: Outcome[] = [];
    const calls = Array.from({ length: 30 }, () =>
      call('stall.test').then((outcome) => {
        settled.push(outcome);
        return outcome;
      }),
    );
    // While the stalled ones hang, the other services of the proxy answer.
    for (let i = 0; i < 10; i++) {
      const fine = await call('fine.test');
      assert.equal(fine.status, 200);
    }
    const outcomes = await Promise.all(calls);
    const busy = outcomes.filter((o) => o.status === 503);
    const cut = outcomes.filter((o) => o.status === 200 && o.body === 'cut');
    assert.equal(
      busy.length,
      22,
      `4 connections + 4 queued per instance; the rest refused: ${JSON.stringify(outcomes)}`,
    );
    for (const o of busy) assert.equal('retryAfter' in o ? o.retryAfter : undefined, '1');
    assert.equal(cut.length, 8, 'every stalled body was cut by the idle timeout, none hung');
    // Order, not time: every refusal came before the first stalled request ended.
    const firstCut = settled.findIndex((o) => o.status === 200);
    assert.ok(
      settled.slice(0, firstCut).filter((o) => o.status === 503).length === 22,
      'the 503s did not wait behind the stalled requests',
    );
    const counters = proxy.counters().find((c) => c.releaseId === 'r-stall');
    assert.equal(counters?.inFlight, 0);
    assert.equal((await call('stall.test')).status, 200, 'the instance takes requests again once its queue emptied');
  });

  it('answers 504 when the head does not come within response_headers', async () => {
    const outcome = await call('stall.test', '/quiet');
    assert.equal(outcome.status, 504);
  });
});

describe('passive health', () => {
  it('ejects an instance after consecutive 5xx, sends everything to the other, and puts it back after the back-off', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push(Number((await call('flaky.test')).status));
    // Round robin: bad, good, bad, good, bad (3rd failure: ejected), then good only.
    assert.deepEqual(statuses, [500, 200, 500, 200, 500, 200, 200, 200]);
    const ejected = events.find((e) => e.type === 'instance.ejected' && e.upstreamId === 'flaky-bad');
    assert.ok(ejected, 'an instance.ejected event');
    assert.equal(ejected.service, 'flaky');
    assert.equal(ejected.releaseId, 'r-flaky');
    assert.equal(ejected.failures, 3);
    assert.equal(ejected.reason, 'status 500');
    assert.equal(ejected.ejectedForMs, 600);
    const deadline = Date.now() + 5_000;
    while (!events.some((e) => e.type === 'instance.restored' && e.upstreamId === 'flaky-bad') && Date.now() < deadline)
      await sleep(50);
    assert.ok(
      events.some((e) => e.type === 'instance.restored' && e.upstreamId === 'flaky-bad'),
      'an instance.restored event',
    );
    const after: number[] = [];
    for (let i = 0; i < 6; i++) after.push(Number((await call('flaky.test')).status));
    assert.ok(after.includes(500), 'back in rotation');
    const ejections = events.filter((e) => e.type === 'instance.ejected' && e.upstreamId === 'flaky-bad');
    assert.equal(ejections.length, 2, 'failing again right after its return ejects it again');
    assert.equal(ejections[1]?.ejectedForMs, 1_200, 'for longer: the back-off grows with repeated ejections');
  });

  it('takes an ejected instance back at once when the route lists it at a new address (restarted in place)', async () => {
    const twoInstances = (badPort: number) =>
      route('reborn', ['reborn.test'], 'r-reborn', [
        { id: 'reborn-0', host: '127.0.0.1', port: badPort },
        { id: 'reborn-1', host: '127.0.0.1', port: healthy.port },
      ]);
    await proxy.setRoute(twoInstances(failing.port));
    for (let i = 0; i < 6; i++) await call('reborn.test');
    assert.ok(
      events.some((e) => e.type === 'instance.ejected' && e.upstreamId === 'reborn-0'),
      'ejected for a minute',
    );
    // The same instance id, now a new process on another port (health.restart_after or a crash restart did that).
    const restarted = await startRecordingBackend();
    try {
      await proxy.setRoute(twoInstances(restarted.port));
      assert.ok(
        events.some((e) => e.type === 'instance.restored' && e.upstreamId === 'reborn-0'),
        'restored without waiting out the minute',
      );
      for (let i = 0; i < 4; i++) assert.equal((await call('reborn.test')).status, 200);
      assert.ok(restarted.seen.length >= 1, 'the new process gets requests again');
    } finally {
      await restarted.close();
    }
  });

  it('never ejects the last instance in rotation of a release', async () => {
    for (let i = 0; i < 8; i++)
      assert.equal((await call('lonely.test')).status, 500, 'still routed: its own 500, not a 503');
    assert.equal(
      events.some((e) => e.upstreamId === 'lonely-0'),
      false,
    );
  });
});
