import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Pool, request } from 'undici';
import WebSocket from 'ws';
import type { ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route, sleep, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * The switch a blue-green deploy makes, under real traffic: a kept-alive
 * client keeps sending while the route flips between two running versions;
 * a long request and a WebSocket opened before the switch stay on the old
 * release until it is drained.
 */
let proxy: ProxyRouter;
let blue: SampleApp;
let green: SampleApp;
let blueRoute: ServiceRoute;
let greenRoute: ServiceRoute;

before(async () => {
  [blue, green] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  blueRoute = route('web', ['web.test'], 'r1', [blue.upstream('web/r1/blue-0')], { version: 'v1' });
  greenRoute = route('web', ['web.test'], 'r2', [green.upstream('web/r2/green-0')], { version: 'v2' });
});

after(async () => {
  await proxy.close();
  await Promise.all([blue.stop(), green.stop()]);
});

function openWebSocket(): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${proxy.address.port}/ws`, { headers: { host: 'web.test' } });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function echo(socket: WebSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo for ${message}`)), 2_000);
    socket.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
    socket.send(message);
  });
}

it('switches releases under keep-alive load without failing a request, and drains the old one', async () => {
  await proxy.setRoute(blueRoute);
  const proxyUrl = `http://127.0.0.1:${proxy.address.port}`;

  // Opened before any switch: both belong to release r1.
  const oldSocket = await openWebSocket();
  assert.equal(await echo(oldSocket, 'hello'), 'v1:hello');
  const slowStartedAt = Date.now();
  const slow = request(`${proxyUrl}/slow?ms=5000`, { headers: { host: 'web.test' } }).then(async (response) => ({
    status: response.statusCode,
    body: (await response.body.json()) as { version: string },
    at: Date.now(),
  }));

  // ~300 requests/s for ~3 s on 4 kept-alive connections, flipping the route every 500 ms.
  const client = new Pool(proxyUrl, { connections: 4, pipelining: 1 });
  let connectionsOpened = 0;
  client.on('connect', () => connectionsOpened++);
  const switches = [greenRoute, blueRoute, greenRoute, blueRoute, greenRoute];
  let switchCount = 0;
  const expectedVersion = (): string =>
    switchCount === 0 ? 'v1' : (switches[switchCount - 1]?.target?.version ?? '?');
  const results = {
    ok: 0,
    failed: [] as string[],
    byVersion: { v1: 0, v2: 0 } as Record<string, number>,
    misrouted: 0,
  };
  // The load runs while the route flips (about 3 s), and on a slow machine
  // on until 400 answers have come back (at most 15 s): a count, not a rate.
  let switchesDone = false;
  const loadLimit = Date.now() + 15_000;
  const worker = async (): Promise<void> => {
    while (!switchesDone || (results.ok < 400 && Date.now() < loadLimit)) {
      const sentAfterSwitch = switchCount;
      const expected = expectedVersion();
      try {
        const response = await client.request({ path: '/', method: 'GET', headers: { host: 'web.test' } });
        const body = (await response.body.json()) as { version: string };
        if (response.statusCode !== 200) results.failed.push(`status ${response.statusCode}`);
        else results.ok++;
        results.byVersion[body.version] = (results.byVersion[body.version] ?? 0) + 1;
        // No switch while this request was in flight: it must have gone to the current target.
        if (switchCount === sentAfterSwitch && body.version !== expected) results.misrouted++;
      } catch (error) {
        results.failed.push(String(error));
      }
      await sleep(12);
    }
  };
  const switcher = async (): Promise<void> => {
    for (const next of switches) {
      await sleep(500);
      await proxy.setRoute(next);
      switchCount++;
    }
    await sleep(500);
    switchesDone = true;
  };
  await Promise.all([worker(), worker(), worker(), worker(), switcher()]);
  await client.close();

  assert.deepEqual(results.failed, [], 'no request failed across the switches');
  assert.ok(results.ok >= 400, `enough traffic to mean something (${results.ok} requests)`);
  assert.ok(
    (results.byVersion.v1 ?? 0) > 50 && (results.byVersion.v2 ?? 0) > 50,
    `traffic moved both ways: ${JSON.stringify(results.byVersion)}`,
  );
  assert.equal(results.misrouted, 0, 'every request started after a switch went to the new target');
  assert.ok(
    connectionsOpened <= 4,
    `the client kept its connections alive across switches (${connectionsOpened} opened)`,
  );

  // The route ends on green (r2). The old WebSocket still talks to v1; a new one goes to v2.
  assert.equal(await echo(oldSocket, 'still-there'), 'v1:still-there');
  const newSocket = await openWebSocket();
  assert.equal(await echo(newSocket, 'hi'), 'v2:hi');
  const oldClosed = new Promise<number>((resolve) => oldSocket.once('close', (code: number) => resolve(code)));

  // Drain r1: the 5 s request finishes (200, v1) inside the drain; the WebSocket is cut at the timeout.
  const drainTimeoutMs = Math.max(6_500 - (Date.now() - slowStartedAt), 1_500);
  const drainStartedAt = Date.now();
  const drained = await proxy.drain('web', 'r1', drainTimeoutMs);
  const drainEndedAt = Date.now();
  const slowResult = await slow;
  assert.equal(slowResult.status, 200);
  assert.equal(slowResult.body.version, 'v1');
  assert.ok(slowResult.at <= drainEndedAt, 'the drain waited for the long request');
  assert.ok(slowResult.at - slowStartedAt >= 4_900, 'the long request ran its full 5 s');
  assert.deepEqual(drained, { drained: false, closed: 1 }, 'only the WebSocket was left at the timeout');
  assert.ok(drainEndedAt - drainStartedAt >= drainTimeoutMs - 50, 'the drain waited for its timeout');
  await oldClosed;
  assert.equal(oldSocket.readyState, WebSocket.CLOSED);

  // The new release is untouched by the drain.
  assert.equal(await echo(newSocket, 'after-drain'), 'v2:after-drain');
  const r1 = proxy.counters().find((c) => c.releaseId === 'r1');
  const r2 = proxy.counters().find((c) => c.releaseId === 'r2');
  assert.equal(r1?.inFlight, 0);
  assert.equal(r1?.openUpgrades, 0);
  assert.equal(r2?.openUpgrades, 1);
  assert.equal(r1?.status.error, 0);
  assert.equal(r2?.status.error, 0);
  newSocket.close();
});

it('resolves a drain as soon as the last request of the release completes', async () => {
  await proxy.setRoute(blueRoute);
  const slow = request(`http://127.0.0.1:${proxy.address.port}/slow?ms=700`, { headers: { host: 'web.test' } });
  await sleep(100);
  await proxy.setRoute(greenRoute);
  const startedAt = Date.now();
  const result = await proxy.drain('web', 'r1', 5_000);
  const tookMs = Date.now() - startedAt;
  const inFlightAtEnd = proxy.counters().find((c) => c.releaseId === 'r1')?.inFlight;
  assert.deepEqual(result, { drained: true, closed: 0 });
  // Not before the request completed (a drain that resolved at once would see it in flight), and not long after.
  assert.equal(inFlightAtEnd, 0, 'the drain ended only once the request had completed');
  assert.ok(tookMs < 2_000, `drain ended with the request, not at its 5 s timeout (${tookMs} ms)`);
  const response = await slow;
  assert.equal(response.statusCode, 200);
  assert.equal(((await response.body.json()) as { version: string }).version, 'v1');
});
