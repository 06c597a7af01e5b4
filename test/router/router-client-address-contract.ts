import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import type { Cidr } from '../../src/config/cidr.js';
import type { Router, ServiceRoute, Upstream } from '../../src/router/index.js';

/**
 * Who the client is behind a trusted load balancer (`server.trusted_proxies`),
 * as one suite every router that listens runs (the embedded proxy, nginx,
 * HAProxy): the nearest address of the balancer's X-Forwarded-For that is not
 * itself trusted. A canary that assigns clients by address splits them by
 * that address, and a maintenance allow list matches it; a peer that is not
 * trusted is judged by its own address, whatever X-Forwarded-For it sends.
 *
 * 127.0.0.1 is the balancer (the only trusted block) and 127.0.0.2 a client
 * connecting directly: loopback only. The routers hash clients differently
 * (MurmurHash2, MurmurHash3, xxh32), so the cases check the split and that
 * each client keeps its side, not which side it is on.
 */
export const CLIENT_ADDRESS_CASES = {
  split:
    'clients a trusted balancer names split by the canary weight, each keeping its side whatever it prepends, a port or a trusted hop after it',
  untrusted: 'a peer that is not trusted is assigned by its own address, whatever X-Forwarded-For it sends',
  maintenance:
    "a maintenance allow list lets the client the balancer names through, and not the balancer's own address",
} as const;

export type ClientAddressCase = keyof typeof CLIENT_ADDRESS_CASES;

export interface ClientAddressHarness {
  router: Router;
  address: { host: string; port: number };
  close(): Promise<void>;
}

export interface ClientAddressContractOptions {
  name: string;
  /** Starts the router listening on 127.0.0.1, trusting `trustedProxies`. */
  setup: (trustedProxies: readonly Cidr[]) => Promise<ClientAddressHarness>;
  skip?: Partial<Record<ClientAddressCase, string>>;
}

const BALANCER: Cidr = { address: '127.0.0.1', prefix: 32, family: 'ipv4' };
const HOST = 'behind.test';
const WEIGHT = 25;
/** Distinct clients of the split case, and the allowed distance from the weight in points (3 standard deviations). */
const CLIENTS = 2_000;
const TOLERANCE = 3;

class NamedBackends {
  private readonly servers: { server: Server; sockets: Set<Socket> }[] = [];

  async start(name: string): Promise<Upstream> {
    const sockets = new Set<Socket>();
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.servers.push({ server, sockets });
    return { id: name, host: '127.0.0.1', port: (server.address() as { port: number }).port };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(({ server, sockets }) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        return closed;
      }),
    );
  }
}

export function clientAddressContract(options: ClientAddressContractOptions): void {
  describe(`Client address behind a trusted balancer: ${options.name}`, () => {
    let harness: ClientAddressHarness;
    let balancer: Pool;
    let direct: Pool;
    let stable: Upstream;
    let canary: Upstream;
    const backends = new NamedBackends();

    before(async () => {
      [stable, canary] = [await backends.start('stable'), await backends.start('canary')];
      harness = await options.setup([BALANCER]);
      const origin = `http://${harness.address.host}:${harness.address.port}`;
      balancer = new Pool(origin, { connections: 16, localAddress: '127.0.0.1' });
      direct = new Pool(origin, { connections: 4, localAddress: '127.0.0.2' });
    });

    after(async () => {
      await balancer?.close();
      await direct?.close();
      await harness?.close();
      await backends.close();
    });

    const declared = Object.entries(options.skip ?? {});
    if (declared.length > 0) {
      it('declares what it cannot do, each with its reason', (t) => {
        for (const [name, reason] of declared) {
          assert.ok(name in CLIENT_ADDRESS_CASES, `${name} is a case of the contract`);
          assert.ok(typeof reason === 'string' && reason.trim().length >= 20, `${name}: the reason says why`);
          t.diagnostic(`not run: ${CLIENT_ADDRESS_CASES[name as ClientAddressCase]}: ${reason}`);
        }
      });
    }

    const test = (name: ClientAddressCase, body: () => Promise<void>): void => {
      if (options.skip?.[name] !== undefined) return;
      it(CLIENT_ADDRESS_CASES[name], body);
    };

    const base = (): ServiceRoute => ({
      service: 'behind',
      hosts: [HOST],
      default: false,
      target: { releaseId: 'r1', version: 'v1', slot: 'blue', upstreams: [stable] },
    });

    const canaryByAddress = (weight: number): ServiceRoute => ({
      ...base(),
      canary: {
        target: { releaseId: 'r2', version: 'v2', slot: 'green', upstreams: [canary] },
        weight,
        stickiness: { by: 'ip', name: '' },
        match: [],
      },
    });

    /** The answer's status and body (the backend's name, or the router's own page). */
    const send = async (through: Pool, forwardedFor: string): Promise<{ status: number; text: string }> => {
      const response = await through.request({
        path: '/',
        method: 'GET',
        headers: { host: HOST, 'x-forwarded-for': forwardedFor, accept: 'application/json' },
      });
      return { status: response.statusCode, text: await response.body.text() };
    };

    const sideOf = async (through: Pool, forwardedFor: string): Promise<string> => {
      const answer = await send(through, forwardedFor);
      assert.equal(answer.status, 200, `${forwardedFor}: ${answer.text}`);
      return answer.text;
    };

    test('split', async () => {
      await harness.router.setRoute(canaryByAddress(WEIGHT));
      const clients = Array.from({ length: CLIENTS }, (_, n) => `203.0.${Math.floor(n / 250)}.${n % 250}`);
      const sides = new Map<string, string>();
      for (let start = 0; start < clients.length; start += 100) {
        const batch = clients.slice(start, start + 100);
        const answers = await Promise.all(batch.map((client) => sideOf(balancer, client)));
        batch.forEach((client, i) => sides.set(client, answers[i] as string));
      }
      const share = ([...sides.values()].filter((side) => side === 'canary').length / CLIENTS) * 100;
      assert.ok(
        Math.abs(share - WEIGHT) <= TOLERANCE,
        `${share.toFixed(1)} % of the clients on the canary at weight ${WEIGHT}`,
      );
      for (const client of clients.slice(0, 100)) {
        const side = sides.get(client);
        // The client's own claim comes first in the chain; the balancer appends the address it saw.
        assert.equal(await sideOf(balancer, `10.9.9.9, ${client}`), side, `${client} cannot pick its side`);
        assert.equal(await sideOf(balancer, `127.0.0.1, ${client}`), side, `${client} cannot claim the balancer's`);
        assert.equal(await sideOf(balancer, `${client}:51234`), side, `${client} with the port the balancer adds`);
        assert.equal(await sideOf(balancer, `${client}, 127.0.0.1`), side, `${client} behind a second trusted hop`);
      }
    });

    test('untrusted', async () => {
      // At 50 %, 40 distinct claims believed would all land on one side once in 2^39.
      await harness.router.setRoute(canaryByAddress(50));
      const sides = new Set<string>();
      for (let n = 0; n < 40; n++) sides.add(await sideOf(direct, `198.51.100.${n}`));
      assert.equal(sides.size, 1, `one side for one peer, not ${[...sides].join(' and ')}`);
    });

    test('maintenance', async () => {
      const closed = (allow: string[]): ServiceRoute => ({
        ...base(),
        maintenance: { message: 'back soon', retryAfterSec: 60, allow },
      });
      try {
        await harness.router.setRoute(closed(['198.51.100.0/24']));
        assert.equal(await sideOf(balancer, '198.51.100.7'), 'stable', 'the allowed client, named by the balancer');
        assert.equal(await sideOf(balancer, '10.9.9.9, 198.51.100.7'), 'stable', 'whatever it prepends');
        for (const [through, forwardedFor, who] of [
          [balancer, '203.0.113.9', 'a client the list does not name'],
          [balancer, '198.51.100.7, 203.0.113.9', 'a client prepending an allowed address'],
          [direct, '198.51.100.7', 'a peer that is not trusted, naming an allowed address'],
        ] as const) {
          const answer = await send(through, forwardedFor);
          assert.equal(answer.status, 503, `${who}: ${answer.text}`);
        }
        // The balancer's address names no client: allowing it lets no one behind it in.
        await harness.router.setRoute(closed(['127.0.0.1/32']));
        assert.equal((await send(balancer, '203.0.113.9')).status, 503);
      } finally {
        await harness.router.setRoute(base());
      }
    });
  });
}
