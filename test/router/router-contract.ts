import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isCutoverError } from '../../src/core/errors.js';
import type { CanaryRoute, ReleaseCounters, ServiceRoute, Upstream } from '../../src/router/index.js';
import type { ContractBackend, ContractRequest, RouterHarness } from './router-contract-types.js';

export type {
  ContractBackend,
  ContractClient,
  ContractRequest,
  ContractResponse,
  ContractSocket,
  HeldRequest,
  RouterHarness,
} from './router-contract-types.js';

/**
 * What every Router promises (src/router/index.ts), as one suite each router
 * runs: the embedded proxy, nginx, the in-memory fake, and every router added
 * later. A router that cannot keep a promise declares that case with the reason
 * (`skip: { websocket: 'why' }`: not run, the reason printed); a new router is done when the rest pass.
 *
 * Each case routes a service of its own to backends of its own, so cases do
 * not see each other's routes, counters or connections.
 */
export const CONTRACT_CASES = {
  settles: 'setRoute resolves only once the new route serves every request',
  hostForms: 'a Host header finds its service whatever its case, with a port, or fully qualified (a trailing dot)',
  hostRefused: 'two Host lines, or a Host that is no host name, get 400 and reach no service (RFC 9112 §3.2)',
  weights: 'a canary weight splits distinct clients within ±2 points over 5,000 requests',
  monotone: 'a sticky client never goes back to stable as the weight rises (10 → 50 → 90)',
  stickyCookie: 'a client without the sticky cookie is given one and keeps its side with it',
  matches: 'header and cookie matches reach the canary at weight 0, and only they do',
  drain: 'drain waits for in-flight requests of the old release, then reports it drained',
  drainCloses: 'after a drain the old release keeps no idle connection to its upstreams',
  counters: 'per-release counters count requests by status class',
  refused: 'a config the router refuses rejects with a router code and the old route keeps serving',
  invalid: 'a route conflicting with another service rejects CONFIG_INVALID and changes nothing',
  websocket: 'a WebSocket opened before a switch keeps working, and the old release’s drain closes it',
  health: 'setUpstreamHealthy(false) takes an upstream out of rotation, true puts it back',
} as const;

export type ContractCase = keyof typeof CONTRACT_CASES;

export interface RouterContractOptions {
  name: string;
  /** Starts the router (once for the file) and what drives it. */
  setup: () => Promise<RouterHarness>;
  /** Cases this router cannot do, each with the reason. */
  skip?: Partial<Record<ContractCase, string>>;
}

/** Distinct clients in the weight case; the bound keeps one run of the suite to a few seconds. */
const WEIGHT_CLIENTS = 5_000;
const MONOTONE_CLIENTS = 400;
/** Allowed distance from the weight, in percentage points. */
const WEIGHT_TOLERANCE = 2;
/** Bound on "eventually" (counters read from a log, a health change applied in the background): not a timing claim. */
const EVENTUALLY_MS = 5_000;

export function routerContract(options: RouterContractOptions): void {
  describe(`Router contract: ${options.name}`, () => {
    let harness: RouterHarness;

    before(async () => {
      harness = await options.setup();
    });

    after(async () => {
      await harness?.close();
    });

    // A case the router declares it cannot keep is not run, and not counted as
    // a skipped test either: one test checks each declaration names a real case
    // with a reason, and prints the reasons, so the limits show in every run.
    const declared = Object.entries(options.skip ?? {});
    if (declared.length > 0) {
      it('declares what it cannot do, each with its reason', (t) => {
        for (const [name, reason] of declared) {
          assert.ok(name in CONTRACT_CASES, `${name} is a case of the contract`);
          assert.ok(typeof reason === 'string' && reason.trim().length >= 20, `${name}: the reason says why`);
          t.diagnostic(`not run: ${CONTRACT_CASES[name as ContractCase]}: ${reason}`);
        }
      });
    }

    const test = (name: ContractCase, body: () => Promise<void>): void => {
      if (options.skip?.[name] !== undefined) return;
      it(CONTRACT_CASES[name], body);
    };

    const backends = (count: number): Promise<ContractBackend[]> =>
      Promise.all(Array.from({ length: count }, () => harness.newBackend()));

    test('settles', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'settles';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      // Back and forth: each switch must be complete when its promise resolves, not a moment later.
      for (const [releaseId, backend] of [
        ['r2', b],
        ['r3', a],
      ] as const) {
        await harness.router.setRoute(stableRoute(service, releaseId, [backend]));
        for (let i = 0; i < 5; i++) {
          const response = await harness.client.send({ host: hostOf(service) });
          assert.deepEqual(
            [response.status, response.backend],
            [200, backend.name],
            `request ${i} after the switch to ${releaseId}`,
          );
        }
      }
    });

    test('hostForms', async () => {
      const [backend, other] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'host-forms';
      await harness.router.setRoute(stableRoute(service, 'r1', [backend]));
      // A default service, so a form the router does not recognise is seen going elsewhere, not only as a 404.
      await harness.router.setRoute({ ...stableRoute('host-forms-default', 'r1', [other]), default: true });
      try {
        for (const host of ['host-forms.test', 'Host-Forms.TEST', 'host-forms.test:8080', 'host-forms.test.']) {
          const response = await harness.client.send({ host });
          assert.deepEqual([response.status, response.backend], [200, backend.name], host);
        }
        const elsewhere = await harness.client.send({ host: 'host-forms.test..' });
        // The default service, or a 400 (nginx refuses the name): not the service itself.
        assert.notEqual(elsewhere.backend, backend.name, 'one trailing dot, not any number of them');
      } finally {
        await harness.router.setRoute({ ...stableRoute('host-forms-default', 'r1', [other]), default: false });
      }
    });

    test('hostRefused', async () => {
      const [backend, other] = (await backends(2)) as [ContractBackend, ContractBackend];
      const client = harness.client;
      assert.ok(client.sendHead !== undefined, 'the client writes request heads by hand');
      await harness.router.setRoute(stableRoute('host-refused', 'r1', [backend]));
      // A default service: a router that routes an unknown or broken name there is seen doing it.
      await harness.router.setRoute({ ...stableRoute('host-refused-other', 'r1', [other]), default: true });
      try {
        const well = await client.sendHead(['Host: host-refused.test']);
        assert.deepEqual([well.status, well.backend], [200, backend.name], 'a well-formed head is routed');
        for (const lines of [
          // Host confusion: one line routes the request, the app may act on the other one.
          ['Host: host-refused.test', 'Host: host-refused-other.test'],
          ['Host: host-refused-other.test', 'Host: host-refused.test'],
          ['Host: host-refused.test/admin'],
          ['Host: host-refused.test other'],
          ['Host: host..refused.test'],
          ['Host: :80'],
          ['Host: '],
        ]) {
          const answer = await client.sendHead(lines);
          assert.deepEqual([answer.status, answer.backend], [400, null], lines.join(' + '));
        }
      } finally {
        await harness.router.setRoute({ ...stableRoute('host-refused-other', 'r1', [other]), default: false });
      }
    });

    test('weights', async () => {
      const [stable, canary] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'weights';
      const weight = 30;
      await harness.router.setRoute(
        canaryRoute(service, stable, canary, { weight, stickiness: { by: 'header', name: 'X-User' } }),
      );
      const requests = Array.from({ length: WEIGHT_CLIENTS }, (_, i) => ({
        host: hostOf(service),
        headers: { 'x-user': `user-${i}` },
      }));
      const answers = await harness.client.sendMany(requests);
      assert.equal(answers.filter((r) => r.status !== 200).length, 0, 'every request is answered by a backend');
      const onCanary = answers.filter((r) => r.backend === canary.name).length;
      const share = (100 * onCanary) / answers.length;
      assert.ok(
        Math.abs(share - weight) <= WEIGHT_TOLERANCE,
        `canary share ${share.toFixed(2)} % for weight ${weight} %`,
      );
      // Each release counts the requests it got (the analysis compares them).
      const requestsOf = (releaseId: string): number =>
        harness.router.counters().find((c) => c.service === service && c.releaseId === releaseId)?.requests ?? 0;
      await eventually(
        () => requestsOf('r1') + requestsOf('r2') === answers.length,
        () => `counted ${requestsOf('r1')} + ${requestsOf('r2')} of ${answers.length}`,
      );
      assert.deepEqual([requestsOf('r2'), requestsOf('r1')], [onCanary, answers.length - onCanary]);
    });

    test('monotone', async () => {
      const [stable, canary] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'monotone';
      const cookie = 'cid';
      const requests = Array.from({ length: MONOTONE_CLIENTS }, (_, i) => ({
        host: hostOf(service),
        cookies: { [cookie]: `client-${i}` },
      }));
      let onCanary = new Set<number>();
      for (const weight of [10, 50, 90]) {
        await harness.router.setRoute(
          canaryRoute(service, stable, canary, { weight, stickiness: { by: 'cookie', name: cookie } }),
        );
        const answers = await harness.client.sendMany(requests);
        assert.equal(answers.filter((r) => r.status !== 200).length, 0);
        const now = new Set(answers.flatMap((r, i) => (r.backend === canary.name ? [i] : [])));
        const flippedBack = [...onCanary].filter((i) => !now.has(i));
        assert.deepEqual(flippedBack, [], `clients back on stable at weight ${weight}`);
        assert.ok(
          now.size > onCanary.size,
          `the canary gains clients at weight ${weight} (${onCanary.size} → ${now.size})`,
        );
        onCanary = now;
      }
    });

    test('stickyCookie', async () => {
      const [stable, canary] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'sticky-cookie';
      const cookie = 'cid';
      await harness.router.setRoute(
        canaryRoute(service, stable, canary, { weight: 50, stickiness: { by: 'cookie', name: cookie } }),
      );
      const sides = new Set<string>();
      // Several new clients (at 50 % they land on both sides): each one's cookie is what keeps it in place.
      for (let client = 0; client < 8; client++) {
        const first = await harness.client.send({ host: hostOf(service) });
        const id = new RegExp(`^${cookie}=([^;]+)`).exec(first.setCookie ?? '')?.[1];
        assert.ok(id !== undefined, `a new client is given a ${cookie} cookie (got ${first.setCookie})`);
        assert.ok(first.backend !== null);
        sides.add(first.backend);
        for (let i = 0; i < 5; i++) {
          const again = await harness.client.send({ host: hostOf(service), cookies: { [cookie]: id } });
          assert.equal(again.backend, first.backend, `client ${client} keeps its side`);
          assert.equal(again.setCookie, null, 'no new cookie for a client that has one');
        }
      }
    });

    test('matches', async () => {
      const [stable, canary] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'matches';
      await harness.router.setRoute(
        canaryRoute(service, stable, canary, {
          weight: 0,
          match: [
            { header: 'X-Canary', value: 'always' },
            { cookie: 'beta', value: '1' },
          ],
        }),
      );
      const host = hostOf(service);
      const cases: [ContractRequest, string][] = [
        [{ host }, stable.name],
        [{ host, headers: { 'x-canary': 'always' } }, canary.name],
        [{ host, headers: { 'X-Canary': 'never' } }, stable.name],
        [{ host, cookies: { beta: '1' } }, canary.name],
        [{ host, cookies: { other: 'x', beta: '1' } }, canary.name],
        [{ host, cookies: { beta: '0' } }, stable.name],
      ];
      for (const [request, expected] of cases) {
        for (let i = 0; i < 3; i++) {
          const response = await harness.client.send(request);
          assert.deepEqual([response.status, response.backend], [200, expected], JSON.stringify(request));
        }
      }
    });

    test('drain', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'drain';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      const held = await harness.client.hold({ host: hostOf(service) });
      assert.equal(held.backend, a.name);
      await harness.router.setRoute(stableRoute(service, 'r2', [b]));
      let settled = false;
      const draining = harness.router.drain(service, 'r1', 30_000).finally(() => (settled = true));
      // New requests meanwhile go to the new release, and do not end the drain.
      for (let i = 0; i < 3; i++) assert.equal((await harness.client.send({ host: hostOf(service) })).backend, b.name);
      await delay(100);
      assert.equal(settled, false, 'drain waits while a request of the old release is in flight');
      const answer = await held.finish(200);
      assert.deepEqual(
        [answer.status, answer.backend],
        [200, a.name],
        'the in-flight request completes on the old release',
      );
      assert.equal((await draining).drained, true);
    });

    test('drainCloses', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'drain-closes';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      await harness.client.sendMany(Array.from({ length: 20 }, () => ({ host: hostOf(service) })));
      await harness.router.setRoute(stableRoute(service, 'r2', [b]));
      assert.deepEqual(await harness.router.drain(service, 'r1', 10_000), { drained: true, closed: 0 });
      // The FIN of a closed connection reaches the backend a moment after drain resolves.
      await eventually(
        () => a.openConnections() === 0,
        () => `${a.openConnections()} connections still open to the old release`,
      );
      assert.equal((await harness.client.send({ host: hostOf(service) })).backend, b.name);
    });

    test('counters', async () => {
      const [a] = (await backends(1)) as [ContractBackend];
      const service = 'counters';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      const statuses = [200, 200, 204, 302, 404, 404, 503];
      for (const status of statuses)
        assert.equal((await harness.client.send({ host: hostOf(service), status })).status, status);
      let counted: ReleaseCounters | undefined;
      await eventually(
        () =>
          (counted = harness.router.counters().find((c) => c.service === service && c.releaseId === 'r1'))?.requests ===
          statuses.length,
        () => `counters: ${JSON.stringify(counted)}`,
      );
      assert.deepEqual(counted?.status, { '1xx': 0, '2xx': 3, '3xx': 1, '4xx': 2, '5xx': 1, error: 0 });
    });

    test('refused', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'refused';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      assert.ok(harness.refuseNextConfig !== undefined, 'the harness must say how the router refuses a config');
      const undo = await harness.refuseNextConfig();
      try {
        await assert.rejects(harness.router.setRoute(stableRoute(service, 'r2', [b])), (error: unknown) => {
          assert.ok(isCutoverError(error), String(error));
          assert.ok(error.code === 'ROUTER_CONFIG_REJECTED' || error.code === 'ROUTER_APPLY_FAILED', error.code);
          return true;
        });
        for (let i = 0; i < 3; i++)
          assert.equal((await harness.client.send({ host: hostOf(service) })).backend, a.name, 'the old route serves');
      } finally {
        await undo();
      }
      // Refusing one config does not wedge the router: the same route goes through once the cause is gone.
      await harness.router.setRoute(stableRoute(service, 'r2', [b]));
      assert.equal((await harness.client.send({ host: hostOf(service) })).backend, b.name);
    });

    test('invalid', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      await harness.router.setRoute(stableRoute('invalid-one', 'r1', [a]));
      await harness.router.setRoute(stableRoute('invalid-two', 'r1', [b]));
      // Claiming the host of another service.
      const thief = { ...stableRoute('invalid-two', 'r2', [a]), hosts: [hostOf('invalid-two'), hostOf('invalid-one')] };
      await assert.rejects(
        harness.router.setRoute(thief),
        (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
      );
      assert.equal((await harness.client.send({ host: hostOf('invalid-one') })).backend, a.name);
      assert.equal((await harness.client.send({ host: hostOf('invalid-two') })).backend, b.name);
    });

    test('websocket', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'websocket';
      await harness.router.setRoute(stableRoute(service, 'r1', [a]));
      const socket = await harness.client.openWebSocket({ host: hostOf(service) });
      assert.equal(await socket.echo(), a.name);
      await harness.router.setRoute(stableRoute(service, 'r2', [b]));
      assert.equal(
        (await harness.client.send({ host: hostOf(service) })).backend,
        b.name,
        'new requests reach the new release',
      );
      assert.equal(await socket.echo(), a.name, 'the WebSocket keeps working across the switch');
      // It never ends by itself: the drain waits out its timeout, then closes it.
      const draining = harness.router.drain(service, 'r1', 200);
      await harness.passTime?.(200);
      const result = await draining;
      assert.equal(result.drained, false);
      assert.ok(result.closed >= 1, `closed ${result.closed}`);
      await socket.closed;
      await assert.rejects(socket.echo());
    });

    test('health', async () => {
      const [a, b] = (await backends(2)) as [ContractBackend, ContractBackend];
      const service = 'health';
      const route = stableRoute(service, 'r1', [a, b]);
      await harness.router.setRoute(route);
      const idOf = (backend: ContractBackend): string => upstreamId(service, 'r1', backend);
      const served = async (count: number): Promise<Set<string | null>> => {
        const names = new Set<string | null>();
        for (let i = 0; i < count; i++) names.add((await harness.client.send({ host: hostOf(service) })).backend);
        return names;
      };
      assert.deepEqual(await served(6), new Set([a.name, b.name]), 'both upstreams serve');
      harness.router.setUpstreamHealthy(idOf(a), false);
      // A router may apply a health change in the background (nginx reloads): what counts is that it lands.
      // Twelve in a row: six could all reach the new nginx workers while an old one still accepts.
      await eventuallyAsync(async () => setsEqual(await served(12), [b.name]), 'only the healthy upstream serves');
      const steady = await served(10);
      assert.deepEqual(steady, new Set([b.name]), 'and stays out');
      harness.router.setUpstreamHealthy(idOf(a), true);
      await eventuallyAsync(
        async () => setsEqual(await served(6), [a.name, b.name]),
        'the upstream is back in rotation',
      );
    });
  });
}

function hostOf(service: string): string {
  return `${service}.test`;
}

function upstreamId(service: string, releaseId: string, backend: ContractBackend): string {
  return `${service}/${releaseId}/${backend.name}`;
}

function upstreamsOf(service: string, releaseId: string, backends: readonly ContractBackend[]): Upstream[] {
  return backends.map((backend) => backend.upstream(upstreamId(service, releaseId, backend)));
}

export function stableRoute(service: string, releaseId: string, backends: readonly ContractBackend[]): ServiceRoute {
  return {
    service,
    hosts: [hostOf(service)],
    default: false,
    target: { releaseId, version: releaseId, slot: 'blue', upstreams: upstreamsOf(service, releaseId, backends) },
  };
}

/** Release r1 on `stable`, r2 on `canary`; sticky by a cookie and without match rules unless told. */
export function canaryRoute(
  service: string,
  stable: ContractBackend,
  canary: ContractBackend,
  options: Partial<Omit<CanaryRoute, 'target'>>,
): ServiceRoute {
  return {
    ...stableRoute(service, 'r1', [stable]),
    canary: {
      target: { releaseId: 'r2', version: 'r2', slot: 'green', upstreams: upstreamsOf(service, 'r2', [canary]) },
      weight: options.weight ?? 0,
      stickiness: options.stickiness ?? { by: 'cookie', name: 'cid' },
      match: options.match ?? [],
    },
  };
}

function setsEqual(actual: ReadonlySet<string | null>, expected: readonly string[]): boolean {
  return actual.size === expected.length && expected.every((name) => actual.has(name));
}

async function eventually(condition: () => boolean, describe: () => string): Promise<void> {
  await eventuallyAsync(() => Promise.resolve(condition()), describe);
}

async function eventuallyAsync(condition: () => Promise<boolean>, describe: string | (() => string)): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(typeof describe === 'string' ? describe : describe());
    await delay(20);
  }
}
