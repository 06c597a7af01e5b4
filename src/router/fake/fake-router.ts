import type { Clock } from '../../core/clock.js';
import { CutoverError, type ErrorCode } from '../../core/errors.js';
import { buildRouteTable, RouteTable, type ServiceEntry, type TargetEntry } from '../route-table.js';
import { systemClock } from '../../clock/system-clock.js';
import type { ReleaseCounters, RouteTarget, Router, ServiceRoute, Upstream } from '../index.js';
import { goesToCanary, type CanaryChoice } from '../proxy/canary-choice.js';
import { FakeReleaseTraffic } from './fake-release-traffic.js';
import type { FakeExchange, FakeRequest, FakeRouted, FakeRouting, FakeUpgrade } from './fake-traffic.js';

export type { FakeExchange, FakeRefused, FakeRequest, FakeRouted, FakeRouting, FakeUpgrade } from './fake-traffic.js';

export interface FakeRouterOptions {
  /** What drain timeouts wait on (default: the system clock); a ManualClock makes them instant in tests. */
  clock?: Clock;
}

/** A request or upgraded connection open to an upstream: what a drain waits for, and cuts at its timeout. */
interface OpenWork {
  readonly traffic: FakeReleaseTraffic;
  readonly upstream: Upstream;
  cut(): void;
}

interface IdleWaiter {
  isIdle(): boolean;
  resolve(): void;
}

/**
 * An in-memory `Router` for logic tests: no sockets, no timers of its own
 * (drain timeouts run on the injected clock). It routes with the embedded
 * proxy's own pieces (the route table, `goesToCanary`, the counter set), so
 * host lookup, weights, stickiness, match rules and round-robin are the
 * proxy's, not a copy. Requests are driven by hand: `route` for one that
 * answers at once, `begin` for one held in flight, `upgrade` for a WebSocket.
 *
 * `rejectNext` makes the next `setRoute` fail the way nginx does when `nginx
 * -t` refuses a config: the promise rejects and the previous route serves.
 */
export class FakeRouter implements Router {
  readonly kind = 'fake';
  readonly supportsMaintenance: boolean = true;
  private readonly clock: Clock;
  private readonly routes = new Map<string, ServiceRoute>();
  private table = new RouteTable<FakeReleaseTraffic>([]);
  private readonly unhealthy = new Set<string>();
  /** Every release ever routed, by `service\0releaseId`: counters stay readable after a drain, and continue on a rollback. */
  private readonly releases = new Map<string, FakeReleaseTraffic>();
  private readonly open = new Set<OpenWork>();
  private idleWaiters: IdleWaiter[] = [];
  private refusals: { code: ErrorCode; message: string }[] = [];
  private readonly choice: CanaryChoice = { setCookie: null };
  private closed = false;

  constructor(options: FakeRouterOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** Switches within the call, like the embedded proxy; rejects (route unchanged) after `rejectNext` or on a conflict. */
  setRoute(route: ServiceRoute): Promise<void> {
    const refusal = this.refusals.shift();
    if (this.closed) return Promise.reject(new CutoverError('ROUTER_UNAVAILABLE', 'the fake router is closed'));
    if (refusal !== undefined) return Promise.reject(new CutoverError(refusal.code, refusal.message));
    const routes = new Map(this.routes);
    routes.set(route.service, route);
    try {
      this.table = buildRouteTable(routes.values(), this.bindTarget, this.table);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.routes.set(route.service, route);
    return Promise.resolve();
  }

  /**
   * The next `setRoute` rejects with `code` and leaves the current route
   * serving: a config the real router refuses (nginx -t, a failed reload).
   * Each call refuses one more.
   */
  rejectNext(
    code: Extract<ErrorCode, 'ROUTER_CONFIG_REJECTED' | 'ROUTER_APPLY_FAILED'> = 'ROUTER_CONFIG_REJECTED',
    message?: string,
  ): void {
    this.refusals.push({ code, message: message ?? `the fake router refused the config (${code})` });
  }

  /** The route the router holds for a service (the last one it accepted). */
  routeOf(service: string): ServiceRoute | undefined {
    return this.routes.get(service);
  }

  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy) this.unhealthy.delete(upstreamId);
    else this.unhealthy.add(upstreamId);
  }

  /** Upstream ids out of rotation. */
  unhealthyUpstreams(): string[] {
    return [...this.unhealthy];
  }

  /** A request answered at once with `status` (200 unless told): routed, counted, ended. */
  route(request: FakeRequest, status = 200): FakeRouting {
    const exchange = this.begin(request);
    exchange.end(status);
    return exchange.routing;
  }

  /** A request held in flight until `end(status)`: a drain of its release waits for it. */
  begin(request: FakeRequest): FakeExchange {
    const routing = this.decide(request);
    if (!routing.routed) return { routing, isOpen: false, end: () => undefined };
    const traffic = this.trafficOf(routing);
    traffic.counters.requests++;
    traffic.counters.inFlight++;
    let isOpen = true;
    const finish = (count: () => void): void => {
      if (!isOpen) return;
      isOpen = false;
      count();
      traffic.counters.inFlight--;
      this.closeWork(work);
    };
    const work: OpenWork = { traffic, upstream: routing.upstream, cut: () => finish(() => traffic.counters.errors++) };
    this.open.add(work);
    return {
      routing,
      get isOpen() {
        return isOpen;
      },
      end: (answered = 200) => finish(() => traffic.counters.countStatus(answered)),
    };
  }

  /** An upgraded connection (the upstream answered 101): open until closed, or cut by a drain of its release. */
  upgrade(request: FakeRequest): FakeUpgrade {
    const routing = this.decide(request);
    if (!routing.routed) return { routing, isOpen: false, closed: Promise.resolve('router'), close: () => undefined };
    const traffic = this.trafficOf(routing);
    traffic.counters.requests++;
    traffic.counters.countStatus(101);
    traffic.counters.openUpgrades++;
    let isOpen = true;
    let closedBy: (by: 'client' | 'router') => void = () => undefined;
    const closed = new Promise<'client' | 'router'>((resolve) => (closedBy = resolve));
    const finish = (by: 'client' | 'router'): void => {
      if (!isOpen) return;
      isOpen = false;
      traffic.counters.openUpgrades--;
      this.closeWork(work);
      closedBy(by);
    };
    const work: OpenWork = { traffic, upstream: routing.upstream, cut: () => finish('router') };
    this.open.add(work);
    return {
      routing,
      get isOpen() {
        return isOpen;
      },
      closed,
      close: () => finish('client'),
    };
  }

  async drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const traffic = this.releases.get(releaseKey(service, releaseId));
    if (traffic === undefined) return { drained: true, closed: 0 };
    const drained = await this.waitUntil(() => !this.carries((work) => work.traffic === traffic), timeoutMs);
    // Routed again while we waited (a rollback, a promoted canary): live traffic, left alone, as the proxy does.
    if (this.table.services.get(service)?.routesRelease(releaseId) === true) return { drained, closed: 0 };
    const closed = this.cut((work) => work.traffic === traffic);
    for (const id of traffic.upstreamIds) this.unhealthy.delete(id);
    return { drained, closed };
  }

  async drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const drained = await this.waitUntil(() => !this.carries((work) => work.upstream.id === upstreamId), timeoutMs);
    return { drained, closed: this.cut((work) => work.upstream.id === upstreamId) };
  }

  counters(): ReleaseCounters[] {
    return [...this.releases.values()].map((traffic) => traffic.counters.snapshot());
  }

  latencySamples(): number[] {
    return [];
  }

  /** Cuts whatever is open; later routes are refused. */
  close(): Promise<void> {
    this.closed = true;
    this.cut(() => true);
    return Promise.resolve();
  }

  private readonly bindTarget = (service: string, target: RouteTarget): FakeReleaseTraffic => {
    const key = releaseKey(service, target.releaseId);
    let traffic = this.releases.get(key);
    if (traffic === undefined) {
      traffic = new FakeReleaseTraffic(service, target.releaseId);
      this.releases.set(key, traffic);
    }
    traffic.bound(target.upstreams);
    return traffic;
  };

  private decide(request: FakeRequest): FakeRouting {
    if (this.closed) return { routed: false, status: 503, code: 'NO_UPSTREAM', service: null };
    const entry = this.table.lookup(request.host);
    if (entry === undefined) return { routed: false, status: 404, code: 'SERVICE_NOT_FOUND', service: null };
    const maintenance = entry.maintenance;
    if (maintenance !== null && !maintenance.allows(request.ip ?? '127.0.0.1')) {
      const { retryAfterSec } = maintenance;
      return { routed: false, status: 503, code: 'MAINTENANCE', service: entry.service, retryAfterSec };
    }
    let target = entry.target;
    this.choice.setCookie = null;
    if (entry.canary !== null) target = this.canaryOrStable(entry, request);
    if (target === null) return { routed: false, status: 503, code: 'NO_UPSTREAM', service: entry.service };
    const index = target.pick(this.unhealthy);
    if (index < 0) {
      // Counted like the proxy's own 503: a request of the release that no upstream took.
      target.binding.counters.requests++;
      target.binding.counters.errors++;
      return { routed: false, status: 503, code: 'NO_UPSTREAM', service: entry.service };
    }
    const routed: FakeRouted = {
      routed: true,
      service: entry.service,
      releaseId: target.releaseId,
      version: target.version,
      slot: target.slot,
      upstream: target.upstreams[index] as Upstream,
      setCookie: this.choice.setCookie,
    };
    return routed;
  }

  /** The proxy's rule (request-routing.ts `canaryOrStable`): a canary with no healthy upstream sends its clients to stable. */
  private canaryOrStable(
    entry: ServiceEntry<FakeReleaseTraffic>,
    request: FakeRequest,
  ): TargetEntry<FakeReleaseTraffic> | null {
    const canary = entry.canary;
    if (canary === null || !goesToCanary(canary, rawHeaders(request), request.ip ?? '127.0.0.1', this.choice))
      return entry.target;
    return entry.target === null || canary.target.hasHealthyUpstream(this.unhealthy) ? canary.target : entry.target;
  }

  private trafficOf(routing: FakeRouted): FakeReleaseTraffic {
    return this.releases.get(releaseKey(routing.service, routing.releaseId)) as FakeReleaseTraffic;
  }

  private carries(matches: (work: OpenWork) => boolean): boolean {
    for (const work of this.open) if (matches(work)) return true;
    return false;
  }

  private cut(matches: (work: OpenWork) => boolean): number {
    let cut = 0;
    for (const work of [...this.open]) {
      if (!matches(work)) continue;
      work.cut();
      cut++;
    }
    return cut;
  }

  private closeWork(work: OpenWork): void {
    this.open.delete(work);
    if (this.idleWaiters.length === 0) return;
    const waiting: IdleWaiter[] = [];
    for (const waiter of this.idleWaiters) {
      if (waiter.isIdle()) waiter.resolve();
      else waiting.push(waiter);
    }
    this.idleWaiters = waiting;
  }

  /** Resolves true once `isIdle` holds, false when `timeoutMs` of clock time passes first. */
  private waitUntil(isIdle: () => boolean, timeoutMs: number): Promise<boolean> {
    if (isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: IdleWaiter = {
        isIdle,
        resolve: () => {
          timer.cancel();
          resolve(true);
        },
      };
      const timer = this.clock.schedule(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(waiter);
    });
  }
}

function releaseKey(service: string, releaseId: string): string {
  return `${service}\0${releaseId}`;
}

/** The request as Node's rawHeaders, the form `goesToCanary` reads: headers, then the cookies as one Cookie header. */
function rawHeaders(request: FakeRequest): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(request.headers ?? {})) raw.push(name, value);
  const cookies = Object.entries(request.cookies ?? {});
  if (cookies.length > 0) raw.push('Cookie', cookies.map(([name, value]) => `${name}=${value}`).join('; '));
  return raw;
}
