import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, it } from 'node:test';
import { Agent, Pool, request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import type { Upstream } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { freePort, route, sleep } from './proxy-fixtures.js';

/**
 * The runbook of one step of a rolling update, with real servers: take
 * instance A of a release out of rotation, drain it (its slow request still
 * finishes, new requests go to B), then stop it while a kept-alive client
 * keeps sending: not one request may fail. Then the edges: a drain that times
 * out cuts what is left, an unknown id, A routed again after its drain, and A
 * dropped from the route before its drain.
 */

interface Instance {
  name: string;
  upstream: Upstream;
  /** Requests being answered right now. */
  active: number;
  /** Responses sent. */
  served: number;
  /** TCP connections open to this instance (kept-alive, upgraded or busy). */
  openConnections(): number;
  /** A hard stop: stop listening and drop every connection, as a killed process would. */
  stop(): Promise<void>;
}

/** `/` answers its name at once, `/slow?ms=N` after N ms; a WebSocket echoes `name:message`. */
async function startInstance(name: string): Promise<Instance> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    instance.active++;
    res.on('close', () => instance.active--);
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
    const answer = (): void => {
      instance.served++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    };
    if (ms <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(answer, ms);
    res.on('close', () => clearTimeout(timer));
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`${name}:${data.toString()}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let stopped: Promise<void> | null = null;
  const instance: Instance = {
    name,
    upstream: { id: `web/r1/${name}`, host: '127.0.0.1', port },
    active: 0,
    served: 0,
    openConnections: () => sockets.size,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
  return instance;
}

async function until(what: string, condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let proxy: ProxyRouter;
let a: Instance;
let b: Instance;
let agent: Agent;

async function setUp(): Promise<void> {
  [a, b] = await Promise.all([startInstance('A'), startInstance('B')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  await proxy.setRoute(route('web', ['web.test'], 'r1', [a.upstream, b.upstream]));
  agent = new Agent({ connections: 16 });
}

afterEach(async () => {
  await proxy.close();
  await agent.close();
  await Promise.all([a.stop(), b.stop()]);
});

function proxyUrl(path: string): string {
  return `http://127.0.0.1:${proxy.address.port}${path}`;
}

async function call(path = '/'): Promise<{ status: number; text: string }> {
  const response = await request(proxyUrl(path), { headers: { host: 'web.test' }, dispatcher: agent });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Starts a request that is sure to be on A (B is out of rotation while it is sent) and returns once A has it. */
async function startOnA(path: string): Promise<{ response: Promise<{ status: number; text: string }> }> {
  const activeBefore = a.active;
  proxy.setUpstreamHealthy(b.upstream.id, false);
  const response = call(path).catch((error: unknown) => ({ status: -1, text: String(error) }));
  await until('the request to reach A', () => a.active > activeBefore);
  proxy.setUpstreamHealthy(b.upstream.id, true);
  return { response };
}

async function openWebSocketOnA(): Promise<WebSocket> {
  proxy.setUpstreamHealthy(b.upstream.id, false);
  const socket = new WebSocket(`ws://127.0.0.1:${proxy.address.port}/ws`, { headers: { host: 'web.test' } });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  proxy.setUpstreamHealthy(b.upstream.id, true);
  const echoed = await new Promise<string>((resolve) => {
    socket.once('message', (data: Buffer) => resolve(data.toString()));
    socket.send('hello');
  });
  assert.equal(echoed, 'A:hello');
  return socket;
}

it('waits for the request in flight on the drained instance while new requests go to the other one', async () => {
  await setUp();
  const slowStartedAt = Date.now();
  const { response: slow } = await startOnA('/slow?ms=1000');
  const servedBySlowOnly = a.served + 1;

  proxy.setUpstreamHealthy(a.upstream.id, false);
  let drainEndedAt = 0;
  let servedWhenDrained = -1;
  const drain = proxy.drainUpstream(a.upstream.id, 5_000).then((result) => {
    drainEndedAt = Date.now();
    servedWhenDrained = a.served;
    return result;
  });

  const during = await Promise.all(Array.from({ length: 20 }, () => call('/')));
  assert.deepEqual(new Set(during.map((r) => `${r.status} ${r.text}`)), new Set(['200 B']));
  assert.equal(drainEndedAt, 0, 'the drain must not end while the slow request is in flight');

  assert.deepEqual(await drain, { drained: true, closed: 0 });
  // The drain ended because the slow request was answered, not earlier, and promptly after it.
  assert.equal(servedWhenDrained, servedBySlowOnly);
  assert.ok(drainEndedAt - slowStartedAt >= 950, `drain ended after ${drainEndedAt - slowStartedAt} ms`);
  assert.ok(drainEndedAt - slowStartedAt < 1_500, `drain ended after ${drainEndedAt - slowStartedAt} ms`);
  assert.deepEqual(await slow, { status: 200, text: 'A' });
});

it('stops the drained instance under keep-alive load without failing a request', async () => {
  await setUp();
  // 4 kept-alive client connections; short slow requests so some are always in flight on A.
  const client = new Pool(proxyUrl('/'), { connections: 4, pipelining: 1 });
  let clientConnections = 0;
  client.on('connect', () => clientConnections++);
  const results = { ok: 0, failed: [] as string[], byInstance: { A: 0, B: 0 } as Record<string, number> };
  let running = true;
  const worker = async (path: string): Promise<void> => {
    while (running) {
      try {
        const response = await client.request({ path, method: 'GET', headers: { host: 'web.test' } });
        const text = await response.body.text();
        if (response.statusCode === 200) {
          results.ok++;
          results.byInstance[text] = (results.byInstance[text] ?? 0) + 1;
        } else results.failed.push(`${response.statusCode} ${text}`);
      } catch (error) {
        results.failed.push(String(error));
      }
    }
  };
  const load = Promise.all([worker('/'), worker('/slow?ms=30'), worker('/slow?ms=30'), worker('/slow?ms=50')]);

  let servedByA = -1;
  try {
    await sleep(300);
    assert.ok(a.openConnections() > 0, 'A carries traffic before the drain');
    proxy.setUpstreamHealthy(a.upstream.id, false);
    const drained = await proxy.drainUpstream(a.upstream.id, 5_000);
    assert.deepEqual(drained, { drained: true, closed: 0 });
    servedByA = a.served;
    // The proxy's kept-alive connections to A are closed: nothing can be sent on a stale one.
    await until('the proxy to close its connections to A', () => a.openConnections() === 0, 1_000);

    await a.stop();
    await sleep(500);
  } finally {
    // Also on a failed assertion: the workers would otherwise keep the test process alive.
    running = false;
    await load;
    await client.close();
  }

  assert.deepEqual(results.failed, []);
  assert.ok((results.byInstance.A ?? 0) > 0, 'A served requests before its drain');
  assert.equal(a.served, servedByA, 'no request reached A after its drain');
  assert.ok(results.ok > 50, `only ${results.ok} requests went through`);
  assert.ok(clientConnections <= 4, `the client opened ${clientConnections} connections: keep-alive was not used`);
});

it('at the timeout cuts the requests and tunnels still open to the instance, and counts them', async () => {
  await setUp();
  const socket = await openWebSocketOnA();
  const socketClosed = once(socket, 'close');
  const { response: slow } = await startOnA('/slow?ms=3000');

  proxy.setUpstreamHealthy(a.upstream.id, false);
  const startedAt = Date.now();
  const result = await proxy.drainUpstream(a.upstream.id, 300);
  const took = Date.now() - startedAt;

  assert.deepEqual(result, { drained: false, closed: 2 });
  assert.ok(took >= 290 && took < 800, `the drain took ${took} ms`);
  assert.equal((await slow).status, 502);
  await socketClosed;
  await until('A to see its connections closed', () => a.openConnections() === 0, 1_000);
  const release = proxy.counters().find((c) => c.releaseId === 'r1');
  assert.equal(release?.inFlight, 0);
  assert.equal(release?.openUpgrades, 0);
  // The release keeps serving from B.
  assert.deepEqual(await call('/'), { status: 200, text: 'B' });
});

it('resolves at once for an unknown upstream id', async () => {
  await setUp();
  const startedAt = Date.now();
  assert.deepEqual(await proxy.drainUpstream('web/r1/nobody', 5_000), { drained: true, closed: 0 });
  assert.ok(Date.now() - startedAt < 50);
});

it('routes the instance again after its drain through a new pool', async () => {
  await setUp();
  assert.deepEqual(await call('/'), { status: 200, text: 'A' });
  proxy.setUpstreamHealthy(a.upstream.id, false);
  assert.deepEqual(await proxy.drainUpstream(a.upstream.id, 1_000), { drained: true, closed: 0 });
  await until('the proxy to close its connections to A', () => a.openConnections() === 0, 1_000);

  // Back in rotation without a route change (a health flap, an aborted update).
  proxy.setUpstreamHealthy(a.upstream.id, true);
  const answers = await Promise.all(Array.from({ length: 6 }, () => call('/')));
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.ok(
    answers.some((r) => r.text === 'A'),
    'A answers again',
  );

  // Drained again, then routed again by a new route: a new pool once more.
  proxy.setUpstreamHealthy(a.upstream.id, false);
  assert.deepEqual(await proxy.drainUpstream(a.upstream.id, 1_000), { drained: true, closed: 0 });
  await proxy.setRoute(route('web', ['web.test'], 'r1', [a.upstream, b.upstream]));
  proxy.setUpstreamHealthy(a.upstream.id, true);
  const again = await Promise.all(Array.from({ length: 6 }, () => call('/')));
  assert.deepEqual(
    again.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.ok(
    again.some((r) => r.text === 'A'),
    'A answers after the new route',
  );
});

it('still waits for an instance that a route change dropped while its request was in flight', async () => {
  await setUp();
  const { response: slow } = await startOnA('/slow?ms=400');
  proxy.setUpstreamHealthy(a.upstream.id, false);
  await proxy.setRoute(route('web', ['web.test'], 'r1', [b.upstream]));

  const servedByA = a.served;
  const result = await proxy.drainUpstream(a.upstream.id, 5_000);
  assert.deepEqual(result, { drained: true, closed: 0 });
  assert.equal(a.served, servedByA + 1, 'the drain ended after A answered');
  assert.deepEqual(await slow, { status: 200, text: 'A' });
  assert.deepEqual(await call('/'), { status: 200, text: 'B' });
});

it('uncounts a request or tunnel from an instance it left: retried on another one, or closed by its client', async () => {
  await setUp();
  // An instance that refuses connections: requests sent there are retried on A or B.
  const dead: Upstream = { id: 'web/r1/dead', host: '127.0.0.1', port: await freePort() };
  await proxy.setRoute(route('web', ['web.test'], 'r1', [dead, a.upstream, b.upstream]));
  const answers = await Promise.all(Array.from({ length: 9 }, () => call('/')));
  assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
  proxy.setUpstreamHealthy(dead.id, false);
  let startedAt = Date.now();
  assert.deepEqual(await proxy.drainUpstream(dead.id, 1_000), { drained: true, closed: 0 });
  assert.ok(Date.now() - startedAt < 200, `the dead instance drained after ${Date.now() - startedAt} ms`);

  // A WebSocket to A that its client closed, and a client that gives up on a slow request to A: A is idle again at once.
  const socket = await openWebSocketOnA();
  socket.close();
  await once(socket, 'close');
  proxy.setUpstreamHealthy(b.upstream.id, false);
  const abort = new AbortController();
  const given = request(proxyUrl('/slow?ms=3000'), {
    headers: { host: 'web.test' },
    dispatcher: agent,
    signal: abort.signal,
  });
  await until('the request to reach A', () => a.active === 1);
  abort.abort();
  await assert.rejects(given);
  proxy.setUpstreamHealthy(a.upstream.id, false);
  startedAt = Date.now();
  assert.deepEqual(await proxy.drainUpstream(a.upstream.id, 1_000), { drained: true, closed: 0 });
  assert.ok(Date.now() - startedAt < 200, `A drained after ${Date.now() - startedAt} ms`);
});
