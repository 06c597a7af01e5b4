import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.js';
import { isCutoverError } from '../../src/core/errors.js';
import type { Upstream } from '../../src/router/index.js';
import { FakeRouter, type FakeRequest, type FakeRouting } from '../../src/router/fake/fake-router.js';
import {
  routerContract,
  stableRoute,
  type ContractBackend,
  type ContractClient,
  type ContractRequest,
  type ContractResponse,
} from './router-contract.js';

/** Backends of the fake are names behind made-up ports: nothing listens, the fake never connects. */
function fakeBackends(): { newBackend(): ContractBackend; nameOf(upstream: Upstream): string } {
  const names = new Map<number, string>();
  return {
    newBackend: () => {
      const port = 20_000 + names.size;
      const name = `b${names.size + 1}`;
      names.set(port, name);
      return { name, upstream: (id) => ({ id, host: '127.0.0.1', port }), openConnections: () => 0 };
    },
    nameOf: (upstream) => names.get(upstream.port) ?? `unknown port ${upstream.port}`,
  };
}

function fakeClient(router: FakeRouter, nameOf: (upstream: Upstream) => string): ContractClient {
  const requestOf = (req: ContractRequest): FakeRequest => ({
    host: req.host,
    ...(req.headers === undefined ? {} : { headers: req.headers }),
    ...(req.cookies === undefined ? {} : { cookies: req.cookies }),
  });
  const answer = (routing: FakeRouting, status: number): ContractResponse =>
    routing.routed
      ? { status, backend: nameOf(routing.upstream), setCookie: routing.setCookie }
      : { status: routing.status, backend: null, setCookie: null };
  const send = (req: ContractRequest): ContractResponse =>
    answer(router.route(requestOf(req), req.status ?? 200), req.status ?? 200);
  return {
    send: (req) => Promise.resolve(send(req)),
    sendMany: (requests) => Promise.resolve(requests.map(send)),
    hold: (req) => {
      const exchange = router.begin(requestOf(req));
      const routing = exchange.routing;
      if (!routing.routed) return Promise.reject(new Error(`not held: ${JSON.stringify(routing)}`));
      return Promise.resolve({
        backend: nameOf(routing.upstream),
        finish: (status = 200) => {
          assert.ok(exchange.isOpen, 'the held request is still in flight');
          exchange.end(status);
          return Promise.resolve(answer(routing, status));
        },
      });
    },
    openWebSocket: (req) => {
      const upgrade = router.upgrade(requestOf(req));
      const routing = upgrade.routing;
      if (!routing.routed) return Promise.reject(new Error(`upgrade refused: ${routing.status}`));
      return Promise.resolve({
        echo: () =>
          upgrade.isOpen
            ? Promise.resolve(nameOf(routing.upstream))
            : Promise.reject(new Error('the WebSocket is closed')),
        closed: upgrade.closed.then(() => undefined),
        close: () => upgrade.close(),
      });
    },
  };
}

routerContract({
  name: 'in-memory fake',
  setup: () => {
    // A manual clock: the drain timeouts of the suite pass at once, as in the controller tests over the fake.
    const clock = new ManualClock();
    const router = new FakeRouter({ clock });
    const backends = fakeBackends();
    return Promise.resolve({
      router,
      passTime: (ms: number) => clock.advance(ms),
      client: fakeClient(router, (upstream) => backends.nameOf(upstream)),
      newBackend: () => Promise.resolve(backends.newBackend()),
      refuseNextConfig: () => {
        router.rejectNext('ROUTER_CONFIG_REJECTED');
        return Promise.resolve(() => Promise.resolve());
      },
      close: () => router.close(),
    });
  },
  skip: {
    drainCloses: 'the fake opens no connection, so there is none to close',
    hostRefused: 'the fake is given a host name, not a request head: there is no header line to repeat or malform',
  },
});

/** What only the fake offers: a manual clock for drain timeouts, and reading what it holds. */
describe('FakeRouter', () => {
  const backends = fakeBackends();
  const a = backends.newBackend();
  const b = backends.newBackend();

  it('times a drain out on its clock, not on the wall clock, and cuts what is left', async () => {
    const clock = new ManualClock();
    const router = new FakeRouter({ clock });
    await router.setRoute(stableRoute('web', 'r1', [a]));
    const request = router.begin({ host: 'web.test' });
    await router.setRoute(stableRoute('web', 'r2', [b]));
    let result: { drained: boolean; closed: number } | undefined;
    void router.drain('web', 'r1', 30_000).then((r) => (result = r));
    await clock.advance(29_999);
    assert.equal(result, undefined, 'not before the timeout');
    assert.equal(request.isOpen, true);
    await clock.advance(1);
    assert.deepEqual(result, { drained: false, closed: 1 });
    assert.equal(request.isOpen, false, 'the request was cut');
    request.end(200);
    const r1 = router.counters().find((c) => c.releaseId === 'r1');
    assert.deepEqual(
      [r1?.requests, r1?.status.error, r1?.status['2xx'], r1?.inFlight],
      [1, 1, 0, 0],
      'a cut request counts as an error, once',
    );
  });

  it('holds the route it accepted, and the next refused config rejects with the code asked for', async () => {
    const router = new FakeRouter();
    const first = stableRoute('web', 'r1', [a]);
    await router.setRoute(first);
    router.rejectNext('ROUTER_APPLY_FAILED');
    await assert.rejects(
      router.setRoute(stableRoute('web', 'r2', [b])),
      (error: unknown) => isCutoverError(error) && error.code === 'ROUTER_APPLY_FAILED',
    );
    assert.equal(router.routeOf('web'), first);
    assert.equal(router.routeOf('other'), undefined);
  });

  it('counts a held request in flight until it ends, and answers 404 and 503 itself', async () => {
    const router = new FakeRouter();
    await router.setRoute({ ...stableRoute('web', 'r1', [a]), target: null });
    assert.deepEqual(router.route({ host: 'web.test' }), {
      routed: false,
      status: 503,
      code: 'NO_UPSTREAM',
      service: 'web',
    });
    assert.deepEqual(router.route({ host: 'nowhere.test' }), {
      routed: false,
      status: 404,
      code: 'SERVICE_NOT_FOUND',
      service: null,
    });
    await router.setRoute(stableRoute('web', 'r1', [a]));
    const request = router.begin({ host: 'WEB.test:8080' });
    assert.equal(router.counters().find((c) => c.releaseId === 'r1')?.inFlight, 1);
    request.end(500);
    const r1 = router.counters().find((c) => c.releaseId === 'r1');
    assert.deepEqual([r1?.inFlight, r1?.status['5xx']], [0, 1]);
  });

  it('drains one upstream: waits for its requests only', async () => {
    const router = new FakeRouter({ clock: new ManualClock() });
    await router.setRoute(stableRoute('web', 'r1', [a, b]));
    const onA = router.begin({ host: 'web.test' });
    const onB = router.begin({ host: 'web.test' });
    assert.ok(onA.routing.routed && onB.routing.routed);
    assert.notEqual(onA.routing.upstream.id, onB.routing.upstream.id);
    const draining = router.drainUpstream(onA.routing.upstream.id, 10_000);
    onA.end(200);
    assert.deepEqual(await draining, { drained: true, closed: 0 });
    assert.equal(onB.isOpen, true);
  });
});
