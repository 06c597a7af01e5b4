import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { bucketOf } from '../../src/core/sticky-bucket.js';
import type { CanaryRoute, ServiceRoute, Upstream } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { freePort, route, sleep } from './proxy-fixtures.js';

/**
 * A canary rollout through the real proxy: v1 is stable, v2 the canary.
 * Clients are counted on each side as the weight rises; the same client
 * always lands on the same side, testers reach the canary with a header or a
 * cookie, a canary that is down costs no request, and a canary taken out of
 * the route drains like any release. The two upstreams are tiny HTTP servers
 * started here that answer their version.
 */
interface VersionServer {
  upstream: Upstream;
  close(): void;
}

/** `/` answers the version; `/slow?ms=N` after N ms; `/with-cookie` also sets the app's own cookie; a WebSocket gets the version. */
async function startVersionServer(version: string, id: string): Promise<VersionServer> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const answer = (): void => {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (url === '/with-cookie') headers['set-cookie'] = 'app-session=abc; Path=/';
      res.writeHead(200, headers);
      res.end(version);
    };
    if (url.startsWith('/slow')) {
      const timer = setTimeout(answer, Number(new URL(url, 'http://x').searchParams.get('ms') ?? 500));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    answer();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.send(version));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    upstream: { id, host: '127.0.0.1', port },
    close: () => {
      wss.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

let proxy: ProxyRouter;
let stable: VersionServer;
let canary: VersionServer;
let client: Pool;
const HOST = 'web.test';

before(async () => {
  [stable, canary] = await Promise.all([startVersionServer('v1', 'web/r1/0'), startVersionServer('v2', 'web/r2/0')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  client = new Pool(`http://127.0.0.1:${proxy.address.port}`, { connections: 16, pipelining: 1 });
});

after(async () => {
  await client.close();
  await proxy.close();
  stable.close();
  canary.close();
});

function canaryRoute(
  weight: number,
  options: Partial<CanaryRoute> = {},
  canaryUpstreams: Upstream[] = [canary.upstream],
): ServiceRoute {
  return {
    ...route('web', [HOST], 'r1', [stable.upstream], { version: 'v1' }),
    canary: {
      target: { releaseId: 'r2', version: 'v2', slot: 'green', upstreams: canaryUpstreams },
      weight,
      stickiness: { by: 'header', name: 'X-User-Id' },
      match: [
        { header: 'X-Canary', value: 'always' },
        { cookie: 'canary', value: 'yes' },
      ],
      ...options,
    },
  };
}

interface Answer {
  status: number;
  version: string;
  setCookie: string[];
}

async function send(headers: Record<string, string> = {}, path = '/', through: Pool = client): Promise<Answer> {
  const response = await through.request({ path, method: 'GET', headers: { host: HOST, ...headers } });
  const version = await response.body.text();
  const raw = response.headers['set-cookie'];
  return { status: response.statusCode, version, setCookie: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw] };
}

/** Sends one request per header set, 32 at a time, and returns the answers in order. */
async function sendAll(headerSets: Record<string, string>[]): Promise<Answer[]> {
  const answers: Answer[] = new Array<Answer>(headerSets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < headerSets.length; i = next++) answers[i] = await send(headerSets[i]);
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  for (const answer of answers) assert.equal(answer.status, 200, `every request answered: ${answer.version}`);
  return answers;
}

function requestsOf(releaseId: string): number {
  return proxy.counters().find((c) => c.releaseId === releaseId)?.requests ?? 0;
}

describe('weights', () => {
  it('sends the weight in percent of distinct clients to the canary, counted on its release', async () => {
    for (const weight of [5, 25, 50]) {
      await proxy.setRoute(canaryRoute(weight));
      const canaryBefore = requestsOf('r2');
      const stableBefore = requestsOf('r1');
      const answers = await sendAll(Array.from({ length: 5_000 }, (_, n) => ({ 'X-User-Id': `u${n}` })));
      const onCanary = answers.filter((a) => a.version === 'v2').length;
      const share = (onCanary / answers.length) * 100;
      assert.ok(Math.abs(share - weight) <= 2, `${share.toFixed(2)} % on the canary at weight ${weight}`);
      assert.equal(requestsOf('r2') - canaryBefore, onCanary, 'the canary release counts its requests');
      assert.equal(requestsOf('r1') - stableBefore, answers.length - onCanary, 'the stable release counts the rest');
    }
  });
});

describe('stickiness', () => {
  it('keeps every client on its side at a weight, and only moves clients to the canary as the weight rises', async () => {
    const keys = Array.from({ length: 1_000 }, (_, n) => ({ 'X-User-Id': `client-${n}` }));
    let onCanaryBefore = new Set<number>();
    for (const weight of [5, 25, 50, 100]) {
      await proxy.setRoute(canaryRoute(weight));
      const [first, second] = [await sendAll(keys), await sendAll(keys)];
      const onCanary = new Set<number>();
      first.forEach((answer, n) => {
        assert.equal(second[n]?.version, answer.version, `client-${n} got the same answer twice at weight ${weight}`);
        if (answer.version === 'v2') onCanary.add(n);
      });
      for (const n of onCanaryBefore)
        assert.ok(onCanary.has(n), `client-${n} stayed on the canary at weight ${weight}`);
      assert.ok(onCanary.size > onCanaryBefore.size, `more clients on the canary at ${weight} % (${onCanary.size})`);
      onCanaryBefore = onCanary;
    }
    assert.equal(onCanaryBefore.size, 1_000, 'everyone at 100 %');
  });

  it('gives a client without the stickiness cookie an id, and routes it by that id afterwards', async () => {
    await proxy.setRoute(canaryRoute(50, { stickiness: { by: 'cookie', name: 'cutover-id' } }));
    const seen = new Set<string>();
    for (let n = 0; n < 40; n++) {
      const first = await send();
      assert.equal(first.setCookie.length, 1);
      const setCookie = first.setCookie[0] ?? '';
      assert.match(setCookie, /^cutover-id=[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
      const cookie = setCookie.split(';')[0] ?? '';
      for (let again = 0; again < 5; again++) {
        const next = await send({ cookie: `theme=dark; ${cookie}` });
        assert.equal(next.version, first.version, `${cookie} is sticky`);
        assert.deepEqual(next.setCookie, [], 'no new id once the client has one');
      }
      seen.add(first.version);
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2'], 'new clients land on both sides at 50 %');
    const appCookie = await send({}, '/with-cookie');
    assert.equal(appCookie.setCookie.length, 2, "the application's own cookie is kept next to the proxy's");
    assert.ok(appCookie.setCookie.includes('app-session=abc; Path=/'));
  });

  it('routes by the socket address when sticky by ip, whatever X-Forwarded-For says', async () => {
    // At 70 % the buckets of these two addresses (6779 and 7121 for the salt `web`) fall on either side.
    await proxy.setRoute(canaryRoute(70, { stickiness: { by: 'ip', name: '' } }));
    const sides: string[] = [];
    for (const address of ['127.0.0.2', '127.0.0.3']) {
      // undici 7 takes the source address as the Pool's `localAddress` (inside `connect` it is ignored).
      const from = new Pool(`http://127.0.0.1:${proxy.address.port}`, { connections: 2, localAddress: address });
      const expected = bucketOf(address, 'web') < 7_000 ? 'v2' : 'v1';
      for (let n = 0; n < 20; n++) {
        const answer = await send({ 'X-Forwarded-For': `10.0.${n}.1`, 'X-User-Id': `u${n}` }, '/', from);
        assert.equal(answer.version, expected, `${address} stays on ${expected}`);
        assert.deepEqual(answer.setCookie, []);
      }
      await from.close();
      sides.push(expected);
    }
    assert.deepEqual(sides, ['v2', 'v1'], 'one address on each side');
  });

  it('opens a WebSocket on the same side as the client’s requests', async () => {
    await proxy.setRoute(canaryRoute(50));
    for (let n = 0; n < 20; n++) {
      const key = `ws-${n}`;
      const { version } = await send({ 'X-User-Id': key });
      const socket = new WebSocket(`ws://127.0.0.1:${proxy.address.port}/`, {
        headers: { host: HOST, 'x-user-id': key },
      });
      const [message] = (await once(socket, 'message')) as [Buffer];
      assert.equal(message.toString(), version, `${key} upgraded on ${version}`);
      socket.close();
    }
  });
});

describe('match rules', () => {
  it('sends a tester with `X-Canary: always` or the canary cookie to the canary at weight 0 and 50, every time', async () => {
    for (const weight of [0, 50]) {
      await proxy.setRoute(canaryRoute(weight));
      const byHeader = await sendAll(
        Array.from({ length: 200 }, (_, n) => ({ 'x-canary': 'always', 'X-User-Id': `t${n}` })),
      );
      assert.ok(
        byHeader.every((a) => a.version === 'v2'),
        `header match at weight ${weight}`,
      );
      const byCookie = await sendAll(
        Array.from({ length: 200 }, (_, n) => ({ cookie: 'a=1; canary=yes', 'X-User-Id': `t${n}` })),
      );
      assert.ok(
        byCookie.every((a) => a.version === 'v2'),
        `cookie match at weight ${weight}`,
      );
    }
    await proxy.setRoute(canaryRoute(0));
    const others = await sendAll(
      Array.from({ length: 200 }, (_, n) => ({ 'X-Canary': 'Always', cookie: 'canary=no', 'X-User-Id': `t${n}` })),
    );
    assert.ok(
      others.every((a) => a.version === 'v1'),
      'a near miss stays on the stable release at weight 0',
    );
  });
});

describe('a canary that is down', () => {
  it('answers from the stable release, counted there, while no canary instance is healthy', async () => {
    await proxy.setRoute(canaryRoute(100));
    proxy.setUpstreamHealthy('web/r2/0', false);
    const canaryBefore = requestsOf('r2');
    const stableBefore = requestsOf('r1');
    const answers = await sendAll(
      Array.from({ length: 100 }, (_, n): Record<string, string> =>
        n % 2 === 0 ? { 'x-canary': 'always' } : { 'X-User-Id': `d${n}` },
      ),
    );
    assert.ok(answers.every((a) => a.version === 'v1'));
    assert.equal(requestsOf('r2'), canaryBefore);
    assert.equal(requestsOf('r1') - stableBefore, 100);
    assert.equal(proxy.counters().find((c) => c.releaseId === 'r1')?.status.error, 0);
    proxy.setUpstreamHealthy('web/r2/0', true);
    assert.equal((await send({ 'X-User-Id': 'd1' })).version, 'v2', 'back on the canary once it is healthy');
  });

  it('answers from the stable release when the canary has no instance at all', async () => {
    const nowhere = { id: 'web/r3/0', host: '127.0.0.1', port: await freePort() };
    await proxy.setRoute(
      canaryRoute(100, { target: { releaseId: 'r3', version: 'v3', slot: 'green', upstreams: [] } }),
    );
    assert.equal((await send({ 'x-canary': 'always' })).version, 'v1');
    await proxy.setRoute(
      canaryRoute(100, { target: { releaseId: 'r3', version: 'v3', slot: 'green', upstreams: [nowhere] } }),
    );
    proxy.setUpstreamHealthy(nowhere.id, false);
    assert.equal((await send()).version, 'v1');
    assert.equal(requestsOf('r3'), 0);
  });
});

describe('drain and latency samples', () => {
  it('drains a canary taken out of the route after its in-flight request', async () => {
    await proxy.setRoute(canaryRoute(100));
    const slow = send({}, '/slow?ms=600');
    await sleep(100);
    await proxy.setRoute(route('web', [HOST], 'r1', [stable.upstream], { version: 'v1' }));
    assert.equal((await send({ 'x-canary': 'always' })).version, 'v1', 'no canary any more');
    const startedAt = Date.now();
    const result = await proxy.drain('web', 'r2', 5_000);
    const tookMs = Date.now() - startedAt;
    assert.deepEqual(result, { drained: true, closed: 0 });
    assert.ok(tookMs >= 400 && tookMs < 2_000, `the drain waited for the slow request (${tookMs} ms)`);
    assert.equal((await slow).version, 'v2');
    const samples = proxy.latencySamples('web', 'r2');
    assert.ok((samples.at(-1) ?? 0) >= 550, `the slow request is the latest sample (${samples.at(-1)} ms)`);
  });

  it('leaves a canary alone while it is routed, as the canary or promoted to stable', async () => {
    await proxy.setRoute(canaryRoute(100));
    assert.deepEqual(await proxy.drain('web', 'r2', 200), { drained: true, closed: 0 });
    assert.equal((await send()).version, 'v2', 'the canary still answers');
    await proxy.setRoute(route('web', [HOST], 'r2', [canary.upstream], { version: 'v2' }));
    const promoted = send({}, '/slow?ms=300');
    await sleep(50);
    assert.deepEqual(await proxy.drain('web', 'r2', 100), { drained: false, closed: 0 }, 'not cut at the timeout');
    assert.equal((await promoted).version, 'v2');
    assert.equal((await send()).version, 'v2', 'the promoted release still answers');
    assert.deepEqual(await proxy.drain('web', 'r1', 2_000), { drained: true, closed: 0 }, 'the old stable drains');
  });

  it('keeps the latest 2,000 upstream latencies of a release', async () => {
    assert.deepEqual(proxy.latencySamples('web', 'nope'), []);
    await sendAll(Array.from({ length: 2_100 }, () => ({})));
    const samples = proxy.latencySamples('web', 'r2');
    assert.equal(samples.length, 2_000);
    assert.ok(Array.isArray(samples) && samples.every((ms) => ms > 0 && ms < 1_000));
    assert.ok(
      samples.every((ms) => ms < 550),
      'the slow request of earlier is no longer among them',
    );
    samples.length = 0;
    assert.equal(proxy.latencySamples('web', 'r2').length, 2_000, 'a copy');
  });
});
