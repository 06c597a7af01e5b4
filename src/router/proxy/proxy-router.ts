import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import { buildRouteTable, RouteTable, type ServiceEntry, type TargetEntry } from '../../core/route-table.js';
import type { ReleaseCounters, RouteTarget, Router, ServiceRoute } from '../index.js';
import { goesToCanary, type CanaryChoice } from './canary-choice.js';
import {
  noActiveRelease,
  noHealthyUpstream,
  noRouteForHost,
  sendErrorOnSocket,
  sendErrorResponse,
} from './error-response.js';
import { buildUpstreamRequestHeaders, type RequestHeadFacts } from './forwarded-headers.js';
import { ProxyExchange } from './proxy-exchange.js';
import { ReleaseTraffic, type TargetBinding } from './release-traffic.js';
import type { UpstreamPoolOptions } from './upstream-pool.js';
import { WebSocketTunnel } from './websocket-tunnel.js';

export interface ProxyListenOptions {
  host: string;
  /** 0 picks a free port; read the bound one from `address`. */
  port: number;
  logger?: Logger;
  /** Most keep-alive connections to one upstream instance (default 128). */
  connectionsPerUpstream?: number;
  /** Time an upstream has to send response headers before the request gets a 502 (default 60 s). */
  upstreamHeadersTimeoutMs?: number;
  /** Longest silence inside an upstream response body before it is cut (default 0 = never: streams and long polls). */
  upstreamBodyTimeoutMs?: number;
  /** How long an idle client keep-alive connection stays open (default 65 s, longer than usual load balancer idle timeouts). */
  clientKeepAliveTimeoutMs?: number;
}

/** Released targets kept for their counters after a drain, per service. */
const RETIRED_RELEASES_KEPT = 5;

/**
 * How often an upstream drain looks whether its instance went idle. Polled
 * rather than notified so that ending a request stays one decrement.
 */
const UPSTREAM_DRAIN_POLL_MS = 5;

/**
 * The embedded reverse proxy: the default `Router`. Routes by Host header to
 * a service, by the service's route to its active release, and round-robin
 * over that release's healthy instances through keep-alive pools.
 *
 * During a canary a route has a second release: a request goes there when a
 * match rule hits or its client's sticky bucket is under the weight (see
 * canary-choice.ts), and to the stable release when no canary instance is
 * healthy. Each release counts its own traffic and can be drained on its own.
 *
 * A switch builds a new immutable route table and swaps one reference: a
 * request is routed by exactly one table when it arrives (every request on a
 * kept-alive client connection is routed on its own), and keeps its release
 * until it completes. `drain` then waits for the old release's requests and
 * upgraded connections, and closes its pools. `drainUpstream` does the same
 * for one instance taken out of rotation (a rolling update), from the
 * requests and tunnels each pool counts.
 */
export class ProxyRouter implements Router {
  readonly kind = 'proxy';
  private readonly server: Server;
  private readonly logger: Logger | undefined;
  private readonly poolOptions: UpstreamPoolOptions;
  private readonly routes = new Map<string, ServiceRoute>();
  private table: RouteTable<TargetBinding> = new RouteTable<TargetBinding>([]);
  /** Upstream ids out of rotation. Kept for ids not routed yet: health may be known before the switch. */
  private readonly unhealthy = new Set<string>();
  /** Releases that receive or still carry traffic, by `service\0releaseId`. */
  private readonly releases = new Map<string, ReleaseTraffic>();
  /** Drained releases, kept (a few per service) so their counters stay readable. */
  private readonly retired: ReleaseTraffic[] = [];
  /** Scratch object filled by the header pass; only read synchronously right after. */
  private readonly facts: RequestHeadFacts = { host: undefined, hasBody: false };
  /** Scratch object of the canary choice, same rule. */
  private readonly canaryChoice: CanaryChoice = { setCookie: null };
  private listening: { host: string; port: number } | null = null;
  private closing: Promise<void> | null = null;

  private constructor(options: ProxyListenOptions) {
    this.logger = options.logger;
    this.poolOptions = {
      connections: options.connectionsPerUpstream ?? 128,
      headersTimeoutMs: options.upstreamHeadersTimeoutMs ?? 60_000,
      bodyTimeoutMs: options.upstreamBodyTimeoutMs ?? 0,
    };
    this.server = createServer({ noDelay: true, keepAliveTimeout: options.clientKeepAliveTimeoutMs ?? 65_000 });
    // Node's own clientError handling stays: it answers malformed requests with 400/431/408.
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      try {
        this.handleRequest(req, res);
      } catch (error) {
        this.failUnexpectedly(error, res);
      }
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.handleUpgrade(req, socket, head);
      } catch (error) {
        this.failUnexpectedly(error, socket);
      }
    });
  }

  static async listen(options: ProxyListenOptions): Promise<ProxyRouter> {
    const router = new ProxyRouter(options);
    await new Promise<void>((resolve, reject) => {
      router.server.once('error', reject);
      router.server.listen(options.port, options.host, () => {
        router.server.off('error', reject);
        resolve();
      });
    });
    const bound = router.server.address() as AddressInfo;
    router.listening = { host: bound.address, port: bound.port };
    router.logger?.info({ host: bound.address, port: bound.port }, 'proxy listening');
    return router;
  }

  /** Where the proxy listens (the real port when 0 was asked for). */
  get address(): { host: string; port: number } {
    if (this.listening === null) throw new CutoverError('INTERNAL', 'proxy is not listening');
    return this.listening;
  }

  /** Switches within the call (one table swap); the promise only reports the outcome. */
  setRoute(route: ServiceRoute): Promise<void> {
    const routes = new Map(this.routes);
    routes.set(route.service, route);
    // Build first: a conflicting route throws here and leaves the current table in place.
    try {
      this.table = buildRouteTable(routes.values(), this.bindTarget, this.table);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.routes.set(route.service, route);
    this.logger?.info(
      {
        service: route.service,
        release: route.target?.releaseId ?? null,
        upstreams: route.target?.upstreams.length ?? 0,
        canary: route.canary ? { release: route.canary.target.releaseId, weight: route.canary.weight, upstreams: route.canary.target.upstreams.length } : null,
      },
      'route set',
    );
    return Promise.resolve();
  }

  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy) this.unhealthy.delete(upstreamId);
    else this.unhealthy.add(upstreamId);
  }

  async drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const traffic = this.releases.get(releaseKey(service, releaseId));
    if (traffic === undefined) return { drained: true, closed: 0 };
    const log = this.logger?.child({ service, release: releaseId });
    log?.info({ inFlight: traffic.counters.inFlight, openUpgrades: traffic.counters.openUpgrades, timeoutMs }, 'drain started');
    const drained = await traffic.waitUntilIdle(timeoutMs);
    if (this.table.services.get(service)?.routesRelease(releaseId) === true) {
      // Routed again while we waited (a rollback, or a promoted canary): it is live traffic now, leave it alone.
      log?.warn({ drained }, 'drain skipped: the release is routed (stable or canary)');
      return { drained, closed: 0 };
    }
    const upstreamIds = traffic.upstreamIds();
    const reason = new CutoverError('UPSTREAM_FAILED', `release '${releaseId}' of service '${service}' was drained after ${timeoutMs} ms`);
    const closed = await traffic.closeAll(reason);
    this.retire(traffic, upstreamIds);
    log?.info({ drained, closed }, 'drain finished');
    return { drained, closed };
  }

  async drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    if (!this.carriesUpstream(upstreamId)) return { drained: true, closed: 0 };
    const log = this.logger?.child({ upstream: upstreamId });
    if (!this.unhealthy.has(upstreamId)) log?.warn('upstream drained while in rotation: requests keep reaching it until the timeout');
    log?.info({ inFlight: this.upstreamLoad(upstreamId), timeoutMs }, 'upstream drain started');
    const drained = await this.waitUntilUpstreamIdle(upstreamId, timeoutMs);
    const reason = new CutoverError('UPSTREAM_FAILED', `upstream '${upstreamId}' was drained after ${timeoutMs} ms`);
    // closeUpstream marks the pools closed before its first await, so the rebind below replaces them.
    const closing = [...this.releases.values()].map((traffic) => traffic.closeUpstream(upstreamId, reason));
    this.rebindUpstream(upstreamId);
    let closed = 0;
    for (const cut of await Promise.all(closing)) closed += cut;
    log?.info({ drained, closed }, 'upstream drain finished');
    return { drained, closed };
  }

  counters(): ReleaseCounters[] {
    const all = [...this.retired, ...this.releases.values()];
    return all.map((traffic) => traffic.counters.snapshot());
  }

  /** The last 2,000 upstream latencies (ms) of a release, oldest first; empty for an unknown release. */
  latencySamples(service: string, releaseId: string): number[] {
    const traffic =
      this.releases.get(releaseKey(service, releaseId)) ?? this.retired.find((r) => r.service === service && r.releaseId === releaseId);
    return traffic === undefined ? [] : traffic.counters.recentLatencies.toArray();
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    const reason = new CutoverError('UPSTREAM_FAILED', 'the proxy is shutting down');
    await Promise.all([...this.releases.values()].map((traffic) => traffic.closeAll(reason)));
    await stopped;
    this.logger?.info('proxy closed');
  }

  // Arrow property: passed to buildRouteTable, bound once.
  private readonly bindTarget = (service: string, target: RouteTarget): TargetBinding => {
    const key = releaseKey(service, target.releaseId);
    let traffic = this.releases.get(key);
    if (traffic === undefined) {
      // A drained release routed again (a rollback) continues its counters.
      const retiredAt = this.retired.findIndex((r) => r.service === service && r.releaseId === target.releaseId);
      const revived = retiredAt >= 0 ? this.retired.splice(retiredAt, 1)[0] : undefined;
      traffic = revived ?? new ReleaseTraffic(service, target.releaseId);
      this.releases.set(key, traffic);
    }
    return { traffic, pools: traffic.poolsFor(target.upstreams, this.poolOptions) };
  };

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = performance.now();
    const facts = this.facts;
    const headers = buildUpstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress, 'http', facts);
    const entry = this.table.lookup(facts.host);
    if (entry === undefined) {
      sendErrorResponse(res, noRouteForHost(facts.host));
      return;
    }
    let target = entry.target;
    let setCookie: string | null = null;
    if (entry.canary !== null) {
      target = this.canaryOrStable(entry, req);
      setCookie = this.canaryChoice.setCookie;
    }
    if (target === null) {
      sendErrorResponse(res, noActiveRelease(entry.service));
      return;
    }
    const counters = target.binding.traffic.counters;
    counters.requests++;
    const index = target.pick(this.unhealthy);
    if (index < 0) {
      counters.errors++;
      sendErrorResponse(res, noHealthyUpstream(entry.service));
      return;
    }
    new ProxyExchange(req, res, target, index, headers, facts.hasBody, this.unhealthy, startedAt, setCookie).start();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', noop);
    const facts = this.facts;
    const headers = buildUpstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress, 'http', facts);
    const entry = this.table.lookup(facts.host);
    if (entry === undefined) {
      sendErrorOnSocket(socket, noRouteForHost(facts.host));
      return;
    }
    // An upgrade follows the same choice as a request; a made-up cookie id is not sent (a 101 is not ours to edit).
    const target = entry.canary === null ? entry.target : this.canaryOrStable(entry, req);
    if (target === null) {
      sendErrorOnSocket(socket, noActiveRelease(entry.service));
      return;
    }
    const index = target.pick(this.unhealthy);
    if (index < 0) {
      target.binding.traffic.counters.requests++;
      target.binding.traffic.counters.errors++;
      sendErrorOnSocket(socket, noHealthyUpstream(entry.service));
      return;
    }
    const requestHead = upgradeRequestHead(req, headers);
    new WebSocketTunnel(socket, head, requestHead, target, index, this.unhealthy).start();
  }

  /**
   * The target of a request to a service in canary: the canary when the
   * request goes there and one of its instances is healthy, else the stable
   * release (a canary that is down must not fail requests). Without a stable
   * release the canary answers, with its own 503 when it has no instance.
   */
  private canaryOrStable(entry: ServiceEntry<TargetBinding>, req: IncomingMessage): TargetEntry<TargetBinding> | null {
    const canary = entry.canary;
    if (canary === null || !goesToCanary(canary, req.rawHeaders, req.socket.remoteAddress, this.canaryChoice)) return entry.target;
    return entry.target === null || canary.target.hasHealthyUpstream(this.unhealthy) ? canary.target : entry.target;
  }

  /** A bug must cost one request, not the process that routes every service. */
  private failUnexpectedly(error: unknown, target: ServerResponse | Duplex): void {
    this.logger?.error({ err: error }, 'proxy failed to handle a request');
    const internal = new CutoverError('INTERNAL', 'the proxy failed to handle this request');
    if (!(target instanceof ServerResponse)) sendErrorOnSocket(target, internal);
    else if (!target.headersSent && !target.destroyed) sendErrorResponse(target, internal);
    else target.destroy();
  }

  private carriesUpstream(upstreamId: string): boolean {
    for (const traffic of this.releases.values()) if (traffic.hasUpstream(upstreamId)) return true;
    return false;
  }

  /** Requests and tunnels in flight to one instance, over every release that has a pool to it. */
  private upstreamLoad(upstreamId: string): number {
    let load = 0;
    for (const traffic of this.releases.values()) load += traffic.upstreamLoad(upstreamId);
    return load;
  }

  private async waitUntilUpstreamIdle(upstreamId: string, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.upstreamLoad(upstreamId) > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await delay(Math.min(UPSTREAM_DRAIN_POLL_MS, left));
    }
    return true;
  }

  /**
   * Rebinds the routed targets that list a just-drained upstream, so they get
   * a new pool in place of the closed one: a request sent there after the
   * instance is back in rotation (a health flap, an aborted update) must not
   * meet a closed pool. A new pool opens no connection until a request uses it.
   */
  private rebindUpstream(upstreamId: string): void {
    const entries = [...this.table.services.values()];
    const kept = entries.filter((entry) => !listsUpstream(entry.target, upstreamId) && !listsUpstream(entry.canary?.target ?? null, upstreamId));
    if (kept.length === entries.length) return;
    // Unaffected services keep their entries (and round-robin cursors): they are passed as the previous table.
    this.table = buildRouteTable(this.routes.values(), this.bindTarget, new RouteTable(kept));
  }

  private retire(traffic: ReleaseTraffic, upstreamIds: readonly string[]): void {
    for (const id of upstreamIds) this.unhealthy.delete(id);
    this.releases.delete(releaseKey(traffic.service, traffic.releaseId));
    this.retired.push(traffic);
    const sameService = this.retired.filter((r) => r.service === traffic.service);
    if (sameService.length > RETIRED_RELEASES_KEPT) {
      this.retired.splice(this.retired.indexOf(sameService[0] as ReleaseTraffic), 1);
    }
  }
}

function releaseKey(service: string, releaseId: string): string {
  return `${service}\0${releaseId}`;
}

function listsUpstream(target: TargetEntry<TargetBinding> | null, upstreamId: string): boolean {
  return target !== null && target.upstreams.some((upstream) => upstream.id === upstreamId);
}

/** The request head for the upstream of an upgrade: forwarded headers plus the Connection/Upgrade pair. */
function upgradeRequestHead(req: IncomingMessage, headers: readonly string[]): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  const upgrade = req.headers.upgrade ?? 'websocket';
  return `${head}connection: upgrade\r\nupgrade: ${upgrade}\r\n\r\n`;
}

function noop(): void {}
