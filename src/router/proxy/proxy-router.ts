import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import { buildRouteTable, RouteTable, type TargetEntry } from '../route-table.js';
import type { AcmeChallenges, ReleaseCounters, RouteTarget, Router, ServiceRoute } from '../index.js';
import { http01Answers } from './acme-http01.js';
import { PassiveHealth } from './passive-health.js';
import type { ProxyContext } from './proxy-context.js';
import type { ProxyListenOptions } from './proxy-listen-options.js';
import { ProxyListeners, type ListenAddress, type ListeningHandle, type RetireOptions } from './proxy-listeners.js';
import { ReleaseRegistry } from './release-registry.js';
import type { ReleaseTraffic, TargetBinding } from './release-traffic.js';
import { RequestRouting } from './request-routing.js';
import { TlsContexts } from './tls-contexts.js';
import { TrustedPeers } from './trusted-peers.js';
import { UpstreamPolicies } from './upstream-policy.js';

export type { ProxyListenOptions } from './proxy-listen-options.js';
export type { ListenAddress, ListeningHandle, RetireOptions } from './proxy-listeners.js';
export { DEFAULT_UPSTREAM_POLICY, type UpstreamPolicy, type UpstreamPolicyOverrides } from './upstream-policy.js';

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
 *
 * Its parts: the listeners and client connections (proxy-listeners.ts), the
 * request path (request-routing.ts), the releases' traffic
 * (release-registry.ts). This class holds the routes and health marks, and
 * drives the parts as the `Router` port asks.
 */
export class ProxyRouter implements Router {
  readonly kind = 'proxy';
  readonly supportsMaintenance = true;
  readonly supportsTls = true;
  private readonly listeners: ProxyListeners;
  private readonly requests: RequestRouting;
  private readonly tlsContexts = new TlsContexts();
  private readonly logger: Logger | undefined;
  private readonly routes = new Map<string, ServiceRoute>();
  /** Upstream ids the controller marked unhealthy. Kept for ids not routed yet: health may be known before the switch. */
  private readonly unhealthy = new Set<string>();
  /** `unhealthy` plus the instances passive health ejected: what routing skips. */
  private readonly outOfRotation = new Set<string>();
  private readonly passiveHealth: PassiveHealth;
  private readonly policies: UpstreamPolicies;
  private readonly releases = new ReleaseRegistry();
  private closing: Promise<void> | null = null;

  private constructor(options: ProxyListenOptions) {
    this.logger = options.logger;
    this.policies = new UpstreamPolicies(options.upstreamPolicy, options.services);
    this.passiveHealth = new PassiveHealth(this.outOfRotation, this.unhealthy, options.onInstanceEjection, this.logger);
    const context: ProxyContext = {
      outOfRotation: this.outOfRotation,
      passiveHealth: this.passiveHealth,
      logger: this.logger,
      stableTarget: (service) => this.requests.table.services.get(service)?.target ?? null,
    };
    this.listeners = new ProxyListeners(options, this.tlsContexts);
    const redirectHttp = options.https !== undefined && options.redirectHttp === true;
    const trustedPeers = new TrustedPeers(options.trustedProxies ?? []);
    this.requests = new RequestRouting(context, trustedPeers, redirectHttp, this.listeners);
    for (const server of this.listeners.all) this.requests.listenTo(server, server === this.listeners.tlsServer);
  }

  static async listen(options: ProxyListenOptions): Promise<ProxyRouter> {
    const router = new ProxyRouter(options);
    await router.listenAt(options.host, options.port);
    return router;
  }

  /** Binds and accepts on host:port, and on the TLS listener's address when there is one (after `prepare`). */
  listenAt(host: string, port: number): Promise<void> {
    return this.listeners.listenAt(host, port);
  }

  /** Binds the TLS listener at its address (`https`); nothing without one. */
  listenTls(): Promise<void> {
    return this.listeners.listenTls();
  }

  /**
   * A proxy that does not accept yet: the caller gives it its routes first
   * and then calls `takeListener`, so no client is ever answered by a proxy
   * without routes (a worker process, the next proxy generation).
   */
  static prepare(options: ProxyListenOptions): ProxyRouter {
    return new ProxyRouter(options);
  }

  /** Accepts on a listening socket another process holds too (see `ProxyListeners.takeListener`). */
  takeListener(handle: ListeningHandle): Promise<void> {
    return this.listeners.takeListener(handle);
  }

  /** The same for the TLS listener's socket (passed in a message of its own: a message carries one handle). */
  takeTlsListener(handle: ListeningHandle): Promise<void> {
    return this.listeners.takeTlsListener(handle);
  }

  /** The listening socket's native handle, to pass to another process (see `ProxyListeners.listeningHandle`). */
  get listeningHandle(): ListeningHandle {
    return this.listeners.listeningHandle;
  }

  /** The TLS listener's socket, to pass along with `listeningHandle`; null without one. */
  get tlsListeningHandle(): ListeningHandle | null {
    return this.listeners.tlsListeningHandle;
  }

  /** Where the proxy listens (the real port when 0 was asked for). */
  get address(): ListenAddress {
    return this.listeners.address;
  }

  /** Where the TLS listener listens, or null without one. */
  get tlsAddress(): ListenAddress | null {
    return this.listeners.tlsAddress;
  }

  /** Answers from now on these ACME challenges (HTTP-01 on the plain listener, TLS-ALPN-01 on the TLS one). */
  setAcmeChallenges(challenges: AcmeChallenges): Promise<void> {
    try {
      const http01 = http01Answers(challenges.http01);
      if (this.listeners.tlsServer !== null) this.tlsContexts.setChallenges(challenges.tlsAlpn01);
      this.requests.http01 = http01;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return Promise.resolve();
  }

  /** Switches within the call (one table swap); the promise only reports the outcome. */
  setRoute(route: ServiceRoute): Promise<void> {
    const routes = new Map(this.routes);
    routes.set(route.service, route);
    // Build first: a conflicting route or a certificate that does not load throws here and leaves the current
    // table (and certificates) in place.
    try {
      if (route.tls && this.listeners.tlsServer === null)
        throw new CutoverError(
          'CONFIG_INVALID',
          `service '${route.service}' has a certificate, but the proxy has no TLS listener`,
          {
            hint: 'Set server.https to give the proxy its TLS listener.',
          },
        );
      const certificates = this.tlsContexts.prepare(routes.values());
      this.requests.table = buildRouteTable(routes.values(), this.bindTarget, this.requests.table);
      this.tlsContexts.use(certificates);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.routes.set(route.service, route);
    for (const upstream of route.target?.upstreams ?? []) this.passiveHealth.rebound(upstream);
    for (const upstream of route.canary?.target.upstreams ?? []) this.passiveHealth.rebound(upstream);
    this.logger?.info(
      {
        service: route.service,
        release: route.target?.releaseId ?? null,
        upstreams: route.target?.upstreams.length ?? 0,
        canary: route.canary
          ? {
              release: route.canary.target.releaseId,
              weight: route.canary.weight,
              upstreams: route.canary.target.upstreams.length,
            }
          : null,
      },
      'route set',
    );
    return Promise.resolve();
  }

  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy) {
      this.unhealthy.delete(upstreamId);
      // An instance passive health ejected stays out until its back-off ends.
      if (!this.passiveHealth.isEjected(upstreamId)) this.outOfRotation.delete(upstreamId);
    } else {
      this.unhealthy.add(upstreamId);
      this.outOfRotation.add(upstreamId);
    }
  }

  async drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const traffic = this.releases.get(service, releaseId);
    if (traffic === undefined) return { drained: true, closed: 0 };
    const log = this.logger?.child({ service, release: releaseId });
    log?.info(
      { inFlight: traffic.counters.inFlight, openUpgrades: traffic.counters.openUpgrades, timeoutMs },
      'drain started',
    );
    const drained = await traffic.waitUntilIdle(timeoutMs);
    if (this.requests.table.services.get(service)?.routesRelease(releaseId) === true) {
      // Routed again while we waited (a rollback, or a promoted canary): it is live traffic now, leave it alone.
      log?.warn({ drained }, 'drain skipped: the release is routed (stable or canary)');
      return { drained, closed: 0 };
    }
    const upstreamIds = traffic.upstreamIds();
    const reason = new CutoverError(
      'UPSTREAM_FAILED',
      `release '${releaseId}' of service '${service}' was drained after ${timeoutMs} ms`,
    );
    const closed = await traffic.closeAll(reason);
    this.retireRelease(traffic, upstreamIds);
    log?.info({ drained, closed }, 'drain finished');
    return { drained, closed };
  }

  async drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    if (!this.releases.carriesUpstream(upstreamId)) return { drained: true, closed: 0 };
    const log = this.logger?.child({ upstream: upstreamId });
    if (!this.unhealthy.has(upstreamId))
      log?.warn('upstream drained while in rotation: requests keep reaching it until the timeout');
    log?.info({ inFlight: this.releases.upstreamLoad(upstreamId), timeoutMs }, 'upstream drain started');
    const drained = await this.releases.waitUntilUpstreamIdle(upstreamId, timeoutMs);
    const reason = new CutoverError('UPSTREAM_FAILED', `upstream '${upstreamId}' was drained after ${timeoutMs} ms`);
    // closeUpstream marks the pools closed before its first await, so the rebind below replaces them.
    const closing = this.releases.closeUpstream(upstreamId, reason);
    this.rebindUpstream(upstreamId);
    const closed = await closing;
    log?.info({ drained, closed }, 'upstream drain finished');
    return { drained, closed };
  }

  counters(): ReleaseCounters[] {
    return this.releases.counters();
  }

  /** The last 2,000 upstream latencies (ms) of a release, oldest first; empty for an unknown release. */
  latencySamples(service: string, releaseId: string): number[] {
    return this.releases.latencySamples(service, releaseId);
  }

  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Winds down a proxy whose listening socket another generation now holds
   * too (a handover). It stops accepting at once; a request on a kept-alive
   * connection is still served and answered with `Connection: close`, so
   * the client's next request opens a connection to the new generation.
   * Idle kept-alive connections are closed only after `idleGraceMs`: closing
   * one at once would race a request the client is sending on it. Upgraded
   * connections get `upgradeDrainMs` before a close frame. HTTP/2 sessions
   * get a GOAWAY at once (what HTTP/2 has in place of `Connection: close`):
   * their open streams finish, and the client opens its next ones on a new
   * connection. Resolves when no client connection is left (or at
   * `timeoutMs`, after cutting the rest).
   */
  async retire(options: RetireOptions): Promise<void> {
    if (this.requests.retiring) return;
    this.requests.retiring = true;
    this.logger?.info(options, 'proxy retiring: accepting no more connections');
    const finished = await this.listeners.retire(options, this.releases);
    if (!finished) this.logger?.warn('proxy retired with connections still open: cutting them');
    await this.close();
  }

  private async shutdown(): Promise<void> {
    this.passiveHealth.close();
    const stopped = this.listeners.close();
    await this.releases.closeAll(new CutoverError('UPSTREAM_FAILED', 'the proxy is shutting down'));
    await this.listeners.closed(stopped);
    this.logger?.info('proxy closed');
  }

  // Arrow property: passed to buildRouteTable, bound once.
  private readonly bindTarget = (service: string, target: RouteTarget): TargetBinding => {
    const traffic = this.releases.routed(service, target.releaseId);
    return { traffic, pools: traffic.poolsFor(target.upstreams, this.policies.of(service)) };
  };

  /**
   * Rebinds the routed targets that list a just-drained upstream, so they get
   * a new pool in place of the closed one: a request sent there after the
   * instance is back in rotation (a health flap, an aborted update) must not
   * meet a closed pool. A new pool opens no connection until a request uses it.
   */
  private rebindUpstream(upstreamId: string): void {
    const entries = [...this.requests.table.services.values()];
    const kept = entries.filter(
      (entry) => !listsUpstream(entry.target, upstreamId) && !listsUpstream(entry.canary?.target ?? null, upstreamId),
    );
    if (kept.length === entries.length) return;
    // Unaffected services keep their entries (and round-robin cursors): they are passed as the previous table.
    this.requests.table = buildRouteTable(this.routes.values(), this.bindTarget, new RouteTable(kept));
  }

  private retireRelease(traffic: ReleaseTraffic, upstreamIds: readonly string[]): void {
    for (const id of upstreamIds) {
      this.unhealthy.delete(id);
      this.outOfRotation.delete(id);
      this.passiveHealth.forget(id);
    }
    this.releases.retire(traffic);
  }
}

function listsUpstream(target: TargetEntry<TargetBinding> | null, upstreamId: string): boolean {
  return target !== null && target.upstreams.some((upstream) => upstream.id === upstreamId);
}
