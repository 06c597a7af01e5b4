import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { bucketOf } from '../../src/core/sticky-bucket.js';
import type { ServiceRoute, Upstream } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route } from './proxy-fixtures.js';

/**
 * Cutover behind a load balancer (`server.trusted_proxies`), with a canary
 * sticky by client address. Every request arrives from the balancer's
 * address, so the canary put every client on the side of that one address:
 * 0% on the canary at weight 25 (or 100%, for another balancer address).
 * The client is now the one the balancer names in X-Forwarded-For: 2,000
 * clients split by the weight and each stays on its side; a client's own
 * X-Forwarded-For, sent through the balancer, cannot move it; and a peer
 * that is not trusted still cannot pick a side with the header.
 */
const HOST = 'web.test';
// 127.0.0.1 is the load balancer here; 127.0.0.2 connects without being trusted.
const BALANCER = { address: '127.0.0.1', prefix: 32, family: 'ipv4' as const };

async function versionServer(version: string): Promise<{ server: Server; upstream: Upstream }> {
  const server = createServer((_req, res) => res.writeHead(200).end(version));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    upstream: { id: `web/${version}/0`, host: '127.0.0.1', port: (server.address() as { port: number }).port },
  };
}

describe('a canary sticky by address behind a trusted load balancer', () => {
  let proxy: ProxyRouter;
  let balancer: Pool;
  let stable: { server: Server; upstream: Upstream };
  let canary: { server: Server; upstream: Upstream };

  const canaryRoute = (weight: number): ServiceRoute => ({
    ...route('web', [HOST], 'r1', [stable.upstream], { version: 'v1' }),
    canary: {
      target: { releaseId: 'r2', version: 'v2', slot: 'green', upstreams: [canary.upstream] },
      weight,
      stickiness: { by: 'ip', name: '' },
      match: [],
    },
  });

  const send = async (through: Pool, forwardedFor: string): Promise<string> => {
    const response = await through.request({
      path: '/',
      method: 'GET',
      headers: { host: HOST, 'x-forwarded-for': forwardedFor },
    });
    assert.equal(response.statusCode, 200);
    return response.body.text();
  };

  before(async () => {
    [stable, canary] = await Promise.all([versionServer('v1'), versionServer('v2')]);
    proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, trustedProxies: [BALANCER] });
    balancer = new Pool(`http://127.0.0.1:${proxy.address.port}`, { connections: 16, localAddress: '127.0.0.1' });
  });

  after(async () => {
    await balancer.close();
    await proxy.close();
    stable.server.close();
    canary.server.close();
  });

  it('splits the clients the balancer names by the weight, each on its side every time', async () => {
    await proxy.setRoute(canaryRoute(25));
    const clients = Array.from({ length: 2_000 }, (_, n) => `203.0.${Math.floor(n / 250)}.${n % 250}`);
    const sides = new Map<string, string>();
    for (let start = 0; start < clients.length; start += 50) {
      const batch = clients.slice(start, start + 50);
      const answers = await Promise.all(batch.map((client) => send(balancer, client)));
      batch.forEach((client, i) => sides.set(client, answers[i]!));
    }
    const onCanary = [...sides.values()].filter((version) => version === 'v2').length;
    const share = (onCanary / clients.length) * 100;
    assert.ok(Math.abs(share - 25) <= 3, `${share.toFixed(1)} % of the clients on the canary at weight 25`);
    for (const client of clients.slice(0, 200)) {
      const expected = bucketOf(client, 'web') < 2_500 ? 'v2' : 'v1';
      assert.equal(sides.get(client), expected, `${client} is assigned by its own address`);
      // The client's own claim comes first in the chain; the balancer appends the address it saw.
      assert.equal(await send(balancer, `10.9.9.9, ${client}`), expected, `${client} cannot pick its side`);
    }
  });

  it('reads a client port the balancer adds, and walks past trusted hops', async () => {
    await proxy.setRoute(canaryRoute(25));
    const client = '198.51.100.23';
    const expected = bucketOf(client, 'web') < 2_500 ? 'v2' : 'v1';
    assert.equal(await send(balancer, `${client}:51234`), expected);
    assert.equal(await send(balancer, `${client}, 127.0.0.1`), expected, 'a second trusted hop is skipped');
  });

  it('never reads the header of a peer that is not trusted', async () => {
    await proxy.setRoute(canaryRoute(25));
    const direct = new Pool(`http://127.0.0.1:${proxy.address.port}`, { connections: 2, localAddress: '127.0.0.2' });
    const expected = bucketOf('127.0.0.2', 'web') < 2_500 ? 'v2' : 'v1';
    for (let n = 0; n < 40; n++) assert.equal(await send(direct, `203.0.113.${n}`), expected);
    await direct.close();
  });
});
