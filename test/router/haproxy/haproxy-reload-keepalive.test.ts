import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client, Pool } from 'undici';
import type { ServiceRoute } from '../../../src/router/index.js';
import { HaproxyRouter } from '../../../src/router/haproxy/haproxy-router.js';
import { HaproxyRuntimeApi } from '../../../src/router/haproxy/haproxy-runtime-api.js';
import { haproxyInstalled } from '../../support/haproxy-server.js';
import { freePort } from '../proxy-fixtures.js';
import { HttpBackends } from '../router-contract-http.js';
import type { ContractBackend } from '../router-contract-types.js';

/**
 * A reload of HAProxy (a new service, a service's first canary, a change
 * of its hosts) under kept-alive load: the old worker neither closes an
 * idle connection under a client about to use it (no request lost), nor
 * routes the next request on it with the routes it was started with
 * (setRoute's promise holds on connections it accepted before the reload).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-reload-'));
const backends = new HttpBackends();
const echoes: Server[] = [];
let router: HaproxyRouter;
let api: HaproxyRuntimeApi;
let origin = '';

before(async () => {
  if (!haproxyInstalled())
    throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
  const listen = { host: '127.0.0.1', port: await freePort() };
  origin = `http://127.0.0.1:${listen.port}`;
  // Loopback is a trusted balancer: its X-Forwarded-For is kept and HAProxy appends it, the case where
  // a worker that added one before handing a request on would have doubled it.
  router = await HaproxyRouter.start({
    listen,
    stateDir: dir,
    trustedProxies: [{ address: '127.0.0.0', prefix: 8, family: 'ipv4' }],
  });
  api = new HaproxyRuntimeApi({ socketPath: router.socketPath });
});

after(async () => {
  await router?.close();
  await backends.close();
  for (const server of echoes) {
    server.closeAllConnections();
    server.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function route(service: string, hosts: string[], releaseId: string, backend: ContractBackend): ServiceRoute {
  return {
    service,
    hosts,
    default: false,
    target: {
      releaseId,
      version: releaseId,
      slot: 'blue',
      upstreams: [backend.upstream(`${service}/${releaseId}/${backend.name}`)],
    },
  };
}

async function workerPid(): Promise<string> {
  return (await api.showInfo()).get('Pid') ?? '';
}

/** One kept-alive connection per Client; `connects` counts the connections it opened. */
function keptAlive(): { client: Client; connects: () => number } {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  let connects = 0;
  client.on('connect', () => connects++);
  return { client, connects: () => connects };
}

async function get(
  client: Client | Pool,
  host: string,
): Promise<{ status: number; backend: string; connection: string }> {
  const response = await client.request({ path: '/', method: 'GET', headers: { host } });
  await response.body.text();
  return {
    status: response.statusCode,
    backend: String(response.headers['x-backend'] ?? ''),
    connection: String(response.headers.connection ?? ''),
  };
}

/** A backend that answers with the forwarding headers it was sent. */
async function echoBackend(name: string): Promise<ContractBackend> {
  const server = createServer((req, res) => {
    res.writeHead(200, {
      'x-backend': name,
      'x-seen-forwarded-for': String(req.headers['x-forwarded-for']),
      'x-seen-real-ip': String(req.headers['x-real-ip']),
    });
    res.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  echoes.push(server);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { name, upstream: (id) => ({ id, host: '127.0.0.1', port }), openConnections: () => 0 };
}

describe('HAProxy reloads under kept-alive connections', () => {
  it('loses no request of 16 kept-alive clients across reloads for new services and a first canary', async (t) => {
    const [b1, b2, other] = [await backends.newBackend(), await backends.newBackend(), await backends.newBackend()];
    await router.setRoute(route('web', ['web.test'], 'r1', b1));

    const clients = 16;
    // Only a bound: the load runs until the reloads are done (5,000 to 11,000 requests on 2 cores).
    const maxRequests = 20_000;
    const pool = new Pool(origin, { connections: clients, pipelining: 1, keepAliveTimeout: 60_000 });
    const failures: string[] = [];
    let sent = 0;
    let sentByLastReload = 0;
    let stop = false;
    // Each client sends its next request a timer tick after the answer: its connection is idle for a
    // moment each time, which is when a reloading HAProxy closed it, under the request being written.
    const client = async (): Promise<void> => {
      while (!stop && sent < maxRequests) {
        sent++;
        try {
          const answer = await get(pool, 'web.test');
          if (answer.status !== 200) failures.push(`status ${answer.status}`);
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? error));
        }
        await delay(0);
      }
    };
    const load = Promise.all(Array.from({ length: clients }, client));
    const workers = [await workerPid()];
    try {
      await delay(300);
      // Eight new services (each a reload), then web's first canary (a new canary shape: a reload).
      for (let i = 1; i <= 8; i++) {
        await router.setRoute(route(`s${i}`, [`s${i}.test`], 'a1', other));
        workers.push(await workerPid());
        await delay(100);
      }
      await router.setRoute({
        ...route('web', ['web.test'], 'r1', b1),
        canary: {
          target: { releaseId: 'r2', version: 'r2', slot: 'green', upstreams: [b2.upstream('web/r2/b2')] },
          weight: 50,
          stickiness: { by: 'header', name: 'X-User' },
          match: [],
        },
      });
      workers.push(await workerPid());
      sentByLastReload = sent;
      await delay(300);
    } finally {
      stop = true;
      await load;
      await pool.close();
    }
    t.diagnostic(
      `${sent} requests (${sentByLastReload} by the last reload), ${workers.length - 1} reloads, ${failures.length} failed ${JSON.stringify(failures)}`,
    );
    assert.equal(new Set(workers).size, 10, `every change reloaded HAProxy (workers ${workers.join(' ')})`);
    assert.ok(sentByLastReload < maxRequests, `the load ran through every reload (${sentByLastReload} requests)`);
    assert.deepEqual(failures, []);
  });

  it('routes the next request on a connection the old worker accepted by the routes set since', async () => {
    const [b1, b2, b3, api1] = [
      await backends.newBackend(),
      await backends.newBackend(),
      await backends.newBackend(),
      await backends.newBackend(),
    ];
    await router.setRoute(route('shop', ['shop.test'], 'r1', b1));
    const open = async (count: number): Promise<ReturnType<typeof keptAlive>[]> => {
      const kept = Array.from({ length: count }, keptAlive);
      for (const { client } of kept) assert.equal((await get(client, 'shop.test')).status, 200);
      return kept;
    };

    // The reload itself moves the route: shop gains a host, and r2 takes its traffic.
    let kept = await open(4);
    let before = await workerPid();
    await router.setRoute(route('shop', ['shop.test', 'www.shop.test'], 'r2', b2));
    assert.notEqual(await workerPid(), before, 'a change of hosts reloads');
    for (const { client, connects } of kept) {
      const answer = await get(client, 'shop.test');
      assert.deepEqual(answer, { status: 200, backend: b2.name, connection: 'close' });
      assert.equal(connects(), 1, 'answered on the connection the old worker accepted');
      await client.close();
    }

    // A reload for another service, then a switch at runtime (no reload): the old worker's
    // connections follow it, and reach the new service the old worker never knew.
    kept = await open(4);
    before = await workerPid();
    await router.setRoute(route('api', ['api.test'], 'a1', api1));
    const reloaded = await workerPid();
    assert.notEqual(reloaded, before, 'a new service reloads');
    await router.setRoute(route('shop', ['shop.test', 'www.shop.test'], 'r3', b3));
    assert.equal(await workerPid(), reloaded, 'a switch does not reload');
    const [k1, k2, k3, k4] = kept as [
      ReturnType<typeof keptAlive>,
      ReturnType<typeof keptAlive>,
      ReturnType<typeof keptAlive>,
      ReturnType<typeof keptAlive>,
    ];
    assert.deepEqual(await get(k1.client, 'shop.test'), { status: 200, backend: b3.name, connection: 'close' });
    assert.deepEqual(await get(k2.client, 'www.shop.test'), { status: 200, backend: b3.name, connection: 'close' });
    assert.deepEqual(await get(k3.client, 'api.test'), { status: 200, backend: api1.name, connection: 'close' });
    assert.deepEqual(await get(k4.client, 'api.test'), { status: 200, backend: api1.name, connection: 'close' });
    for (const { client, connects } of kept) {
      assert.equal(connects(), 1, 'answered on the connection the old worker accepted');
      await client.close();
    }
  });

  it('hands a request on as it came: the forwarding headers and the sticky cookie of a direct one', async () => {
    const [stable, canary] = [await echoBackend('e1'), await echoBackend('e2')];
    await router.setRoute({
      ...route('echo', ['echo.test'], 'e1', stable),
      canary: {
        target: { releaseId: 'e2', version: 'e2', slot: 'green', upstreams: [canary.upstream('echo/e2/e2')] },
        weight: 50,
        stickiness: { by: 'cookie', name: 'cid' },
        match: [],
      },
    });
    const headers = { host: 'echo.test', 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9' };
    const seen = async (client: Client): Promise<unknown> => {
      const response = await client.request({ path: '/', method: 'GET', headers });
      await response.body.text();
      const cookies = response.headers['set-cookie'];
      return {
        forwardedFor: response.headers['x-seen-forwarded-for'],
        realIp: response.headers['x-seen-real-ip'],
        stickyCookies: (Array.isArray(cookies) ? cookies : cookies === undefined ? [] : [cookies]).length,
      };
    };
    const direct = keptAlive();
    const expected = { forwardedFor: '203.0.113.9, 127.0.0.1', realIp: '203.0.113.9', stickyCookies: 1 };
    assert.deepEqual(await seen(direct.client), expected);
    await direct.client.close();

    const kept = keptAlive();
    await get(kept.client, 'echo.test');
    const before = await workerPid();
    await router.setRoute(route('more', ['more.test'], 'm1', stable));
    assert.notEqual(await workerPid(), before, 'a new service reloads');
    assert.deepEqual(await seen(kept.client), expected);
    assert.equal(kept.connects(), 1, 'answered on the connection the old worker accepted');
    await kept.client.close();
  });
});
