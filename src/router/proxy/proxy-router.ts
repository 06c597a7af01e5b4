import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import http2, {
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import { buildRouteTable, normalizeHost, RouteTable, type ServiceEntry, type TargetEntry } from '../route-table.js';
import type { AcmeChallenges, ReleaseCounters, RouteTarget, Router, ServiceRoute } from '../index.js';
import { goesToCanary, type CanaryChoice } from './canary-choice.js';
import type { Cidr } from '../../config/cidr.js';
import {
  bodyTooLarge,
  http2Required,
  misdirected,
  noActiveRelease,
  noHealthyUpstream,
  noRouteForHost,
  sendErrorOnSocket,
  sendErrorResponse,
  sendMaintenanceOnSocket,
  sendMaintenanceResponse,
  upstreamsBusy,
} from './error-response.js';
import { buildUpstreamRequestHeaders, type RequestHeadFacts } from './forwarded-headers.js';
import { PassiveHealth, type InstanceEjectionEvent } from './passive-health.js';
import type { ProxyContext } from './proxy-context.js';
import { ProxyExchange } from './proxy-exchange.js';
import { nextWhere } from './retry-choice.js';
import { ReleaseTraffic, type TargetBinding } from './release-traffic.js';
import { TrustedPeers } from './trusted-peers.js';
import type { PassiveHealthPolicy, UpstreamPool, UpstreamPoolOptions } from './upstream-pool.js';
import { isAcmeValidation, TlsContexts } from './tls-contexts.js';
import { WebSocketTunnel } from './websocket-tunnel.js';
import { http1RawHeaders, http2HasBody, isHttp2 } from './h2-request-headers.js';
import { GrpcExchange } from './grpc-exchange.js';

/** How the proxy treats one service's instances: its timeouts, its queue bound and its passive health. */
export type UpstreamPolicy = UpstreamPoolOptions;

/** Some fields of a policy; the others come from the proxy's default policy. */
export type UpstreamPolicyOverrides = Partial<Omit<UpstreamPolicy, 'passiveHealth'>> & {
  passiveHealth?: Partial<PassiveHealthPolicy>;
};

export interface ProxyListenOptions {
  host: string;
  /** 0 picks a free port; read the bound one from `address`. */
  port: number;
  /** The TLS listener (`server.https`): hosts whose route has a certificate are served there by SNI. */
  https?: { host: string; port: number };
  /** With `https`: plain requests for a host that has a certificate get 308 to HTTPS (ACME challenges excepted). */
  redirectHttp?: boolean;
  logger?: Logger;
  /** The policy of services not listed in `services` (default: DEFAULT_UPSTREAM_POLICY). */
  upstreamPolicy?: UpstreamPolicyOverrides;
  /** Per service (`services.<name>.timeouts`, `instance_limits`, `passive_health`); missing fields come from `upstreamPolicy`. */
  services?: Readonly<Record<string, UpstreamPolicyOverrides>>;
  /** Peers whose X-Forwarded-* / X-Real-IP / Forwarded are believed (`server.trusted_proxies`; default: nobody). */
  trustedProxies?: readonly Cidr[];
  /** Most client connections open at once; one more is closed as soon as it is accepted (default 10,000). */
  maxConnections?: number;
  /** Time a client has to send a whole request head (default 10 s): what ends a slowloris. */
  clientHeadersTimeoutMs?: number;
  /** Time a client has to send a whole request, head and body (default 5 min: uploads; 0 = no limit). */
  clientRequestTimeoutMs?: number;
  /** How long an idle client keep-alive connection stays open (default 65 s, longer than usual load balancer idle timeouts). */
  clientKeepAliveTimeoutMs?: number;
  /** Passive health took an instance out of rotation or put it back (the controller records it as an event). */
  onInstanceEjection?: (event: InstanceEjectionEvent) => void;
}

/** The defaults of `services.<name>.timeouts`, `instance_limits` and `passive_health` (config-defaults.ts holds the same). */
export const DEFAULT_UPSTREAM_POLICY: UpstreamPolicy = {
  connections: 128,
  pending: 128,
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  passiveHealth: { consecutiveFailures: 5, ejectionMs: 30_000, maxEjectionMs: 300_000 },
};

/**
 * How often Node looks for requests over the head or request timeout. Its
 * default (30 s) would let a slow head live three times the 10 s limit.
 */
const CLIENT_TIMEOUT_CHECK_MS = 1_000;

/** A listening socket's native handle, as passed between processes (see `ProxyRouter.listeningHandle`). */
export type ListeningHandle = object & { readonly listening?: never };

/** While a retiring proxy waits for its connections to end, how often it closes the ones that went idle. */
const RETIRE_IDLE_SWEEP_MS = 1_000;

/** How a proxy generation that handed its listener over winds down (see `retire`). */
export interface RetireOptions {
  /** Idle kept-alive client connections stay open this long, so a request already on its way still gets an answer. */
  idleGraceMs: number;
  /** WebSockets and other upgraded connections get this long before they are closed (WebSocket close 1001). */
  upgradeDrainMs: number;
  /** After this, whatever is still open is cut. */
  timeoutMs: number;
}

/** How long the full stop waits for client connections to close after it closed them, before it cuts them. */
const SHUTDOWN_GRACE_MS = 1_000;

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
  readonly supportsMaintenance = true;
  readonly supportsTls = true;
  private readonly server: Server;
  /** The TLS listener, when `https` is set: HTTP/2 and HTTP/1.1 (by ALPN), the same routing, by the same table. */
  private readonly tlsServer: Http2SecureServer | null;
  /** Open HTTP/2 client sessions: a handover sends each a GOAWAY, so clients move on with no stream lost. */
  private readonly h2Sessions = new Set<Http2Session>();
  private readonly tlsContexts = new TlsContexts();
  private readonly redirectHttp: boolean;
  /** HTTP-01 tokens → key authorizations of ACME orders under way (`setAcmeChallenges`). */
  private http01 = new Map<string, string>();
  private readonly tlsAddressWanted: { host: string; port: number } | null;
  private tlsListening: { host: string; port: number } | null = null;
  private readonly logger: Logger | undefined;
  private readonly routes = new Map<string, ServiceRoute>();
  private table: RouteTable<TargetBinding> = new RouteTable<TargetBinding>([]);
  /** Upstream ids the controller marked unhealthy. Kept for ids not routed yet: health may be known before the switch. */
  private readonly unhealthy = new Set<string>();
  /** `unhealthy` plus the instances passive health ejected: what routing skips. */
  private readonly outOfRotation = new Set<string>();
  private readonly passiveHealth: PassiveHealth;
  private readonly context: ProxyContext;
  private readonly trustedPeers: TrustedPeers;
  private readonly defaultPolicy: UpstreamPolicy;
  private readonly servicePolicies = new Map<string, UpstreamPolicy>();
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
  /** Set by `retire`: every response closes its client connection. */
  private retiring = false;
  /**
   * Every open client connection, plain or TLS, upgraded ones included (the
   * HTTP server stops tracking a socket once it is upgraded): the full stop
   * cuts what is still open after a grace, so `close` always ends.
   */
  private readonly clientSockets = new Set<net.Socket>();

  private constructor(options: ProxyListenOptions) {
    this.logger = options.logger;
    this.defaultPolicy = mergePolicy(DEFAULT_UPSTREAM_POLICY, options.upstreamPolicy);
    for (const [service, policy] of Object.entries(options.services ?? {}))
      this.servicePolicies.set(service, mergePolicy(this.defaultPolicy, policy));
    this.passiveHealth = new PassiveHealth(this.outOfRotation, this.unhealthy, options.onInstanceEjection, this.logger);
    this.context = {
      outOfRotation: this.outOfRotation,
      passiveHealth: this.passiveHealth,
      logger: this.logger,
      stableTarget: (service) => this.table.services.get(service)?.target ?? null,
    };
    this.trustedPeers = new TrustedPeers(options.trustedProxies ?? []);
    const headersTimeout = options.clientHeadersTimeoutMs ?? 10_000;
    const requestTimeout = options.clientRequestTimeoutMs ?? 300_000;
    const httpOptions = {
      noDelay: true,
      keepAliveTimeout: options.clientKeepAliveTimeoutMs ?? 65_000,
      headersTimeout,
      // Node refuses a head timeout longer than the request timeout; the head is part of the request anyway.
      requestTimeout: requestTimeout === 0 ? 0 : Math.max(requestTimeout, headersTimeout),
      connectionsCheckingInterval: Math.min(CLIENT_TIMEOUT_CHECK_MS, headersTimeout),
    };
    this.server = createServer(httpOptions);
    this.redirectHttp = options.https !== undefined && options.redirectHttp === true;
    this.tlsAddressWanted = options.https ?? null;
    this.tlsServer =
      options.https === undefined ? null : createTlsServer(this.tlsContexts, httpOptions, headersTimeout);
    for (const server of this.servers) {
      const secure = server === this.tlsServer;
      // Past the limit Node closes a new connection as soon as it is accepted: cheaper than any answer during a flood.
      server.maxConnections = options.maxConnections ?? 10_000;
      server.on('connection', (socket: net.Socket) => {
        this.clientSockets.add(socket);
        socket.once('close', () => this.clientSockets.delete(socket));
      });
      // Node's own clientError handling stays: it answers malformed requests with 400/431/408.
      server.on('request', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
        // The HTTP/2 compatibility objects carry what the proxy reads (url, method, headers, a readable body, a
        // response with writeHead/write/end/'drain'/'close'); headers are read from the HTTP/1.1 form made here.
        const h2 = secure && isHttp2(req);
        const request = req as IncomingMessage;
        const response = res as ServerResponse;
        try {
          if (h2) this.handleRequest(request, response, true, http1RawHeaders(req.rawHeaders), http2HasBody(req));
          else this.handleRequest(request, response, secure, request.rawHeaders, null);
        } catch (error) {
          this.failUnexpectedly(error, request, response);
        }
      });
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        try {
          this.handleUpgrade(req, socket, head, secure);
        } catch (error) {
          this.failUnexpectedly(error, req, socket);
        }
      });
    }
    // A failed handshake (no certificate for the name, a scanner) is the client's business; the socket is closed.
    this.tlsServer?.on('tlsClientError', noop);
    // An ACME TLS-ALPN-01 validation is over once the handshake is: it never speaks HTTP (RFC 8737).
    this.tlsServer?.on('secureConnection', (socket: TLSSocket) => {
      if (isAcmeValidation(socket)) socket.end();
    });
    this.tlsServer?.on('session', (session: Http2Session) => {
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      // A retiring generation takes no new streams on a session that opens now: the client moves to the new one.
      if (this.retiring) session.close();
    });
  }

  static async listen(options: ProxyListenOptions): Promise<ProxyRouter> {
    const router = new ProxyRouter(options);
    await router.listenAt(options.host, options.port);
    return router;
  }

  /** Binds and accepts on host:port, and on the TLS listener's address when there is one (after `prepare`). */
  async listenAt(host: string, port: number): Promise<void> {
    await this.acceptOn(this.server, (server, done) => server.listen(port, host, done));
    try {
      await this.listenTls();
    } catch (error) {
      this.server.close();
      throw error;
    }
  }

  /** Binds the TLS listener at its address (`https`); nothing without one. */
  async listenTls(): Promise<void> {
    const tlsServer = this.tlsServer;
    const at = this.tlsAddressWanted;
    if (tlsServer === null || at === null) return;
    this.tlsListening = await this.acceptOn(tlsServer, (server, done) => server.listen(at.port, at.host, done));
  }

  /**
   * A proxy that does not accept yet: the caller gives it its routes first
   * and then calls `takeListener`, so no client is ever answered by a proxy
   * without routes (a worker process, the next proxy generation).
   */
  static prepare(options: ProxyListenOptions): ProxyRouter {
    return new ProxyRouter(options);
  }

  /**
   * Accepts on a listening socket another process holds too (passed over
   * IPC): the kernel gives each new connection to one of the processes
   * accepting on it, and the socket never stops listening while one does.
   * Synchronous up to the listen call, so a handle received in a message
   * starts being served before the event loop polls it again.
   */
  takeListener(handle: ListeningHandle): Promise<void> {
    return this.acceptOn(this.server, (server, done) => server.listen(handle, done)).then(() => undefined);
  }

  /** The same for the TLS listener's socket (passed in a message of its own: a message carries one handle). */
  async takeTlsListener(handle: ListeningHandle): Promise<void> {
    if (this.tlsServer === null) throw new CutoverError('INTERNAL', 'this proxy has no TLS listener');
    this.tlsListening = await this.acceptOn(this.tlsServer, (server, done) => server.listen(handle, done));
  }

  /**
   * The listening socket's native handle, to pass to another process
   * (`ChildProcess.send(message, handle)`). Not the server itself: sent as a
   * net.Server, Node has the receiver listen on it at once with a server of
   * its own, which can accept a connection before the receiver takes the
   * handle over, and with nobody on its 'connection' event that client
   * waits forever. A bare handle is listened on only by whoever takes it.
   */
  get listeningHandle(): ListeningHandle {
    return handleOf(this.server);
  }

  /** The TLS listener's socket, to pass along with `listeningHandle`; null without one. */
  get tlsListeningHandle(): ListeningHandle | null {
    return this.tlsServer === null ? null : handleOf(this.tlsServer);
  }

  private async acceptOn<S extends net.Server>(
    server: S,
    listen: (server: S, done: () => void) => void,
  ): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listen(server, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    const at = { host: bound.address, port: bound.port };
    if (server === (this.server as net.Server)) this.listening = at;
    this.logger?.info({ ...at, tls: server !== (this.server as net.Server) }, 'proxy listening');
    return at;
  }

  /** Where the proxy listens (the real port when 0 was asked for). */
  get address(): { host: string; port: number } {
    if (this.listening === null) throw new CutoverError('INTERNAL', 'proxy is not listening');
    return this.listening;
  }

  /** Answers from now on these ACME challenges (HTTP-01 on the plain listener, TLS-ALPN-01 on the TLS one). */
  setAcmeChallenges(challenges: AcmeChallenges): Promise<void> {
    const http01 = new Map<string, string>();
    for (const [token, keyAuthorization] of Object.entries(challenges.http01)) {
      // RFC 8555 §8.3: a token is base64url; a key authorization is the token, a dot and a base64url thumbprint.
      if (!ACME_TOKEN.test(token) || !ACME_KEY_AUTHORIZATION.test(keyAuthorization))
        return Promise.reject(new CutoverError('CONFIG_INVALID', 'an HTTP-01 challenge is not a base64url token'));
      http01.set(token, keyAuthorization);
    }
    try {
      if (this.tlsServer !== null) this.tlsContexts.setChallenges(challenges.tlsAlpn01);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.http01 = http01;
    return Promise.resolve();
  }

  /** True when the request was an HTTP-01 validation of a token this proxy holds, and was answered. */
  private answerHttp01(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url;
    if (url === undefined || !url.startsWith(ACME_CHALLENGE_PATH)) return false;
    const keyAuthorization = this.http01.get(url.slice(ACME_CHALLENGE_PATH.length));
    if (keyAuthorization === undefined) return false;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(Buffer.byteLength(keyAuthorization)),
      'cache-control': 'no-store',
    });
    res.end(keyAuthorization);
    return true;
  }

  /**
   * A request on the wrong side of the TLS edge for its service: over HTTPS
   * for a service served in the clear (421), or in the clear for one with a
   * certificate: the `https://host[:port]/path` it is redirected to (308,
   * the port left out when it is 443), or null when it is served as it came.
   */
  private crossedEdge(
    entry: ServiceEntry<TargetBinding>,
    secure: boolean,
    hostHeader: string | undefined,
    url: string | undefined,
  ): typeof MISDIRECTED | string | null {
    if (secure) return MISDIRECTED;
    const target = this.redirectHttp ? redirectTarget(entry, hostHeader, url) : null;
    if (target === null) return null;
    const port = this.tlsListening?.port ?? 443;
    return `https://${target.host}${port === 443 ? '' : `:${port}`}${target.path}`;
  }

  /** Where the TLS listener listens, or null without one. */
  get tlsAddress(): { host: string; port: number } | null {
    return this.tlsListening;
  }

  /** Switches within the call (one table swap); the promise only reports the outcome. */
  setRoute(route: ServiceRoute): Promise<void> {
    const routes = new Map(this.routes);
    routes.set(route.service, route);
    // Build first: a conflicting route or a certificate that does not load throws here and leaves the current
    // table (and certificates) in place.
    try {
      if (route.tls && this.tlsServer === null)
        throw new CutoverError(
          'CONFIG_INVALID',
          `service '${route.service}' has a certificate, but the proxy has no TLS listener`,
          {
            hint: 'Set server.https to give the proxy its TLS listener.',
          },
        );
      const certificates = this.tlsContexts.prepare(routes.values());
      this.table = buildRouteTable(routes.values(), this.bindTarget, this.table);
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
    const traffic = this.releases.get(releaseKey(service, releaseId));
    if (traffic === undefined) return { drained: true, closed: 0 };
    const log = this.logger?.child({ service, release: releaseId });
    log?.info(
      { inFlight: traffic.counters.inFlight, openUpgrades: traffic.counters.openUpgrades, timeoutMs },
      'drain started',
    );
    const drained = await traffic.waitUntilIdle(timeoutMs);
    if (this.table.services.get(service)?.routesRelease(releaseId) === true) {
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
    if (!this.carriesUpstream(upstreamId)) return { drained: true, closed: 0 };
    const log = this.logger?.child({ upstream: upstreamId });
    if (!this.unhealthy.has(upstreamId))
      log?.warn('upstream drained while in rotation: requests keep reaching it until the timeout');
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
      this.releases.get(releaseKey(service, releaseId)) ??
      this.retired.find((r) => r.service === service && r.releaseId === releaseId);
    return traffic === undefined ? [] : traffic.counters.recentLatencies.toArray();
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
    if (this.retiring) return;
    this.retiring = true;
    this.logger?.info(options, 'proxy retiring: accepting no more connections');
    for (const session of this.h2Sessions) session.close();
    const servers = this.servers;
    // net.Server's close, not http.Server's: that one also closes idle kept-alive connections at once.
    const ended = Promise.all(
      servers.map((server) => new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()))),
    );
    const closeIdle = (): void => {
      for (const server of servers) closeIdleConnections(server);
    };
    const timers: NodeJS.Timeout[] = [];
    timers.push(
      setTimeout(() => {
        closeIdle();
        timers.push(setInterval(closeIdle, RETIRE_IDLE_SWEEP_MS));
      }, options.idleGraceMs),
      setTimeout(() => {
        for (const traffic of this.releases.values()) traffic.goAwayUpgrades();
      }, options.upgradeDrainMs),
    );
    const finished = await Promise.race([ended.then(() => true), delay(options.timeoutMs, false)]);
    for (const timer of timers) clearTimeout(timer);
    if (!finished) this.logger?.warn('proxy retired with connections still open: cutting them');
    await this.close();
  }

  private async shutdown(): Promise<void> {
    this.passiveHealth.close();
    const stopped = Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            // Never listening (a TLS listener of a proxy that failed to start): nothing to wait for.
            if (!server.listening) resolve();
            else server.close(() => resolve());
            closeAllConnections(server);
          }),
      ),
    );
    for (const session of this.h2Sessions) session.close();
    const reason = new CutoverError('UPSTREAM_FAILED', 'the proxy is shutting down');
    await Promise.all([...this.releases.values()].map((traffic) => traffic.closeAll(reason)));
    // A socket neither side closed (a refused upgrade whose client keeps its end open) would hold close() forever.
    const ended = await Promise.race([stopped.then(() => true), delay(SHUTDOWN_GRACE_MS, false)]);
    if (!ended) {
      this.logger?.warn({ open: this.clientSockets.size }, 'proxy closing: cutting client connections still open');
      for (const socket of this.clientSockets) socket.destroy();
      await stopped;
    }
    this.logger?.info('proxy closed');
  }

  /** The listeners: plain HTTP, and TLS when set. */
  private get servers(): (Server | Http2SecureServer)[] {
    return this.tlsServer === null ? [this.server] : [this.server, this.tlsServer];
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
    return {
      traffic,
      pools: traffic.poolsFor(target.upstreams, this.servicePolicies.get(service) ?? this.defaultPolicy),
    };
  };

  /**
   * `rawHeaders` is the request's head in HTTP/1.1 form (for HTTP/2, see
   * http1RawHeaders); `h2Body` is null for HTTP/1.1, else whether the
   * HTTP/2 stream carries a body (it need not declare a length).
   */
  private handleRequest(
    req: IncomingMessage,
    res: ServerResponse,
    secure: boolean,
    rawHeaders: readonly string[],
    h2Body: boolean | null,
  ): void {
    const startedAt = performance.now();
    // A retiring generation answers with `Connection: close`: the client's next request goes to the new one.
    if (this.retiring) res.shouldKeepAlive = false;
    const facts = this.facts;
    const peer = req.socket.remoteAddress;
    const headers = buildUpstreamRequestHeaders(
      rawHeaders,
      peer,
      secure ? 'https' : 'http',
      this.trustedPeers.trusts(peer),
      facts,
    );
    if (h2Body !== null) facts.hasBody = h2Body;
    // An ACME HTTP-01 validation, whatever the host (an order may run before the host has a service routed).
    if (!secure && this.http01.size > 0 && this.answerHttp01(req, res)) return;
    const entry = this.table.lookup(facts.host, req.url);
    const strip = this.table.stripLength;
    if (entry === undefined) {
      sendErrorResponse(res, rawHeaders, noRouteForHost(facts.host), this.logger);
      return;
    }
    const edge = entry.tls === secure ? null : this.crossedEdge(entry, secure, facts.host, req.url);
    if (edge === MISDIRECTED) {
      sendErrorResponse(res, rawHeaders, misdirected(entry.service), this.logger);
      return;
    }
    if (edge !== null) {
      res.writeHead(308, { location: edge, 'content-length': '0' });
      res.end();
      return;
    }
    // Checked before the release: a service in maintenance answers even with nothing routed or healthy.
    if (entry.maintenance !== null && !entry.maintenance.allows(peer)) {
      sendMaintenanceResponse(res, rawHeaders, entry.maintenance);
      return;
    }
    const maxBody = entry.maxBodyBytes;
    if (maxBody !== null && facts.hasBody && declaredLength(rawHeaders) > maxBody) {
      // Declared too large: answered before a byte goes on; the body is not read (the connection closes after).
      res.shouldKeepAlive = false;
      sendErrorResponse(res, rawHeaders, bodyTooLarge(entry.service, maxBody), this.logger);
      return;
    }
    if (strip > 0) req.url = stripPrefix(req.url ?? '/', strip);
    let target = entry.target;
    let setCookie: string | null = null;
    if (entry.canary !== null) {
      target = this.canaryOrStable(entry, req, rawHeaders);
      setCookie = this.canaryChoice.setCookie;
    }
    if (target === null) {
      sendErrorResponse(res, rawHeaders, noActiveRelease(entry.service), this.logger);
      return;
    }
    const counters = target.binding.traffic.counters;
    counters.requests++;
    let index = target.pick(this.outOfRotation);
    if (index < 0) {
      counters.errors++;
      sendErrorResponse(res, rawHeaders, noHealthyUpstream(entry.service), this.logger);
      return;
    }
    if ((target.binding.pools[index] as UpstreamPool).isFull) {
      index = notFullAfter(target, index, this.outOfRotation);
      if (index < 0) {
        counters.errors++;
        sendErrorResponse(res, rawHeaders, upstreamsBusy(entry.service), this.logger);
        return;
      }
    }
    if (entry.grpc) {
      if (h2Body === null) {
        counters.errors++;
        sendErrorResponse(res, rawHeaders, http2Required(entry.service), this.logger);
        return;
      }
      const call = req as unknown as Http2ServerRequest;
      const answer = res as unknown as Http2ServerResponse;
      new GrpcExchange(call, answer, target, index, headers, this.context, startedAt).start();
      return;
    }
    new ProxyExchange(
      req,
      res,
      target,
      index,
      headers,
      facts.hasBody,
      this.context,
      startedAt,
      setCookie,
      secure ? entry.hsts : null,
      maxBody,
    ).start();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    socket.on('error', noop);
    const facts = this.facts;
    const peer = req.socket.remoteAddress;
    const headers = buildUpstreamRequestHeaders(
      req.rawHeaders,
      peer,
      secure ? 'https' : 'http',
      this.trustedPeers.trusts(peer),
      facts,
    );
    const entry = this.table.lookup(facts.host, req.url);
    const strip = this.table.stripLength;
    if (entry === undefined) {
      sendErrorOnSocket(socket, req.rawHeaders, noRouteForHost(facts.host), this.logger);
      return;
    }
    const edge = entry.tls === secure ? null : this.crossedEdge(entry, secure, facts.host, req.url);
    if (edge === MISDIRECTED) {
      sendErrorOnSocket(socket, req.rawHeaders, misdirected(entry.service), this.logger);
      return;
    }
    if (edge !== null) {
      // A WebSocket client does not follow it, but it learns where the service is, and nothing goes out in clear.
      socket.end(
        `HTTP/1.1 308 Permanent Redirect\r\nLocation: ${edge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    if (entry.maintenance !== null && !entry.maintenance.allows(peer)) {
      sendMaintenanceOnSocket(socket, req.rawHeaders, entry.maintenance);
      return;
    }
    if (strip > 0) req.url = stripPrefix(req.url ?? '/', strip);
    // An upgrade follows the same choice as a request; a made-up cookie id is not sent (a 101 is not ours to edit).
    const target = entry.canary === null ? entry.target : this.canaryOrStable(entry, req, req.rawHeaders);
    if (target === null) {
      sendErrorOnSocket(socket, req.rawHeaders, noActiveRelease(entry.service), this.logger);
      return;
    }
    const index = target.pick(this.outOfRotation);
    if (index < 0) {
      target.binding.traffic.counters.requests++;
      target.binding.traffic.counters.errors++;
      sendErrorOnSocket(socket, req.rawHeaders, noHealthyUpstream(entry.service), this.logger);
      return;
    }
    new WebSocketTunnel(socket, head, req, headers, target, index, this.context).start();
  }

  /**
   * The target of a request to a service in canary: the canary when the
   * request goes there and one of its instances is healthy, else the stable
   * release (a canary that is down must not fail requests). Without a stable
   * release the canary answers, with its own 503 when it has no instance.
   */
  private canaryOrStable(
    entry: ServiceEntry<TargetBinding>,
    req: IncomingMessage,
    rawHeaders: readonly string[],
  ): TargetEntry<TargetBinding> | null {
    const canary = entry.canary;
    if (canary === null || !goesToCanary(canary, rawHeaders, req.socket.remoteAddress, this.canaryChoice))
      return entry.target;
    return entry.target === null || canary.target.hasHealthyUpstream(this.outOfRotation) ? canary.target : entry.target;
  }

  /** A bug must cost one request, not the process that routes every service. */
  private failUnexpectedly(error: unknown, req: IncomingMessage, target: ServerResponse | Duplex): void {
    this.logger?.error({ err: error }, 'proxy failed to handle a request');
    const internal = new CutoverError('INTERNAL', 'the proxy failed to handle this request');
    // An HTTP/2 compatibility response is no ServerResponse, but answers like one.
    const response = target instanceof ServerResponse || 'writeHead' in target ? (target as ServerResponse) : null;
    if (response === null) sendErrorOnSocket(target as Duplex, req.rawHeaders, internal, this.logger);
    else if (!response.headersSent && !response.destroyed)
      sendErrorResponse(response, req.rawHeaders, internal, this.logger);
    else response.destroy();
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
    const kept = entries.filter(
      (entry) => !listsUpstream(entry.target, upstreamId) && !listsUpstream(entry.canary?.target ?? null, upstreamId),
    );
    if (kept.length === entries.length) return;
    // Unaffected services keep their entries (and round-robin cursors): they are passed as the previous table.
    this.table = buildRouteTable(this.routes.values(), this.bindTarget, new RouteTable(kept));
  }

  private retireRelease(traffic: ReleaseTraffic, upstreamIds: readonly string[]): void {
    for (const id of upstreamIds) {
      this.unhealthy.delete(id);
      this.outOfRotation.delete(id);
      this.passiveHealth.forget(id);
    }
    this.releases.delete(releaseKey(traffic.service, traffic.releaseId));
    this.retired.push(traffic);
    const sameService = this.retired.filter((r) => r.service === traffic.service);
    if (sameService.length > RETIRED_RELEASES_KEPT) {
      this.retired.splice(this.retired.indexOf(sameService[0] as ReleaseTraffic), 1);
    }
  }
}

/**
 * Where a plain request for a service served over HTTPS is sent: its own
 * host (one of the service's, never an arbitrary Host header a default
 * service caught) and path, or null when it is served in the clear: a host
 * the certificate is not for, or an ACME HTTP-01 challenge, which must be
 * answered over plain HTTP.
 */
function redirectTarget(
  entry: ServiceEntry<TargetBinding>,
  hostHeader: string | undefined,
  url: string | undefined,
): { host: string; path: string } | null {
  if (hostHeader === undefined) return null;
  const host = normalizeHost(hostHeader);
  if (!entry.tlsHosts.includes(host)) return null;
  // Absolute-form targets (`GET http://host/path`) are rare from browsers; the path alone is what matters here.
  const path = url !== undefined && url.startsWith('/') ? url : '/';
  if (path.startsWith(ACME_CHALLENGE_PATH)) return null;
  return { host, path };
}

const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';
const MISDIRECTED = Symbol('misdirected');
const ACME_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const ACME_KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,128}$/;

/** The path after a stripped prefix: `/api/users?q` → `/users?q`, `/api` → `/`, `/api?q` → `/?q`. */
function stripPrefix(url: string, length: number): string {
  const rest = url.slice(length);
  return rest.length === 0 || rest.charCodeAt(0) !== 0x2f ? `/${rest}` : rest;
}

/** The Content-Length a request declares, or -1 (none, or chunked: counted as it streams instead). */
function declaredLength(rawHeaders: readonly string[]): number {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const value = Number(rawHeaders[i + 1]);
      return Number.isFinite(value) ? value : -1;
    }
  }
  return -1;
}

function handleOf(server: net.Server): ListeningHandle {
  const handle = (server as unknown as { _handle: object | null })._handle;
  if (handle === null) throw new CutoverError('INTERNAL', 'the proxy is not listening');
  return handle;
}

function releaseKey(service: string, releaseId: string): string {
  return `${service}\0${releaseId}`;
}

function listsUpstream(target: TargetEntry<TargetBinding> | null, upstreamId: string): boolean {
  return target !== null && target.upstreams.some((upstream) => upstream.id === upstreamId);
}

/** A policy with the fields `partial` sets replaced, passive health merged field by field. */
function mergePolicy(base: UpstreamPolicy, partial: UpstreamPolicyOverrides | undefined): UpstreamPolicy {
  if (partial === undefined) return base;
  return { ...base, ...partial, passiveHealth: { ...base.passiveHealth, ...partial.passiveHealth } };
}

/**
 * The next instance in rotation after `index` whose pool has room, or -1: a
 * full instance (often a hung one) is passed over rather than queued on.
 */
function notFullAfter(target: TargetEntry<TargetBinding>, index: number, outOfRotation: ReadonlySet<string>): number {
  return nextWhere(target, index, index, outOfRotation, hasRoom);
}

function hasRoom(pool: UpstreamPool): boolean {
  return !pool.isFull;
}

/**
 * The TLS listener: HTTP/2 by ALPN, HTTP/1.1 for clients that offer only
 * that (or no ALPN at all), both through the same 'request' and 'upgrade'
 * handlers. Node's HTTP/1.1 limits do not come from the options of an HTTP/2
 * server: they are set on it, where its HTTP/1.1 connections read them.
 */
function createTlsServer(
  contexts: TlsContexts,
  httpOptions: { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number },
  handshakeTimeout: number,
): Http2SecureServer {
  const server = http2.createSecureServer({
    allowHTTP1: true,
    SNICallback: contexts.sni,
    ALPNCallback: contexts.alpn,
    minVersion: 'TLSv1.2',
    // A handshake is part of the head a client owes us: the same bound ends a slow one.
    handshakeTimeout,
    // One client may not hold an unbounded number of streams, nor header lists larger than Node's HTTP/1.1 parser takes.
    settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS, maxHeaderListSize: H2_MAX_HEADER_LIST_SIZE },
    maxSessionMemory: 16,
  });
  const http1 = server as Http2SecureServer & {
    keepAliveTimeout: number;
    headersTimeout: number;
    requestTimeout: number;
  };
  http1.keepAliveTimeout = httpOptions.keepAliveTimeout;
  http1.headersTimeout = httpOptions.headersTimeout;
  http1.requestTimeout = httpOptions.requestTimeout;
  // An idle HTTP/2 session (and an idle HTTP/1.1 connection) is closed after the keep-alive timeout.
  server.setTimeout(httpOptions.keepAliveTimeout);
  return server;
}

/** Streams one HTTP/2 client may have open at once (nginx's http2_max_concurrent_streams is 128). */
const H2_MAX_CONCURRENT_STREAMS = 128;
/** Bytes of one HTTP/2 header list, like Node's 16 KiB HTTP/1.1 head limit. */
const H2_MAX_HEADER_LIST_SIZE = 16 * 1024;

/** Closes idle kept-alive HTTP/1.1 connections (the HTTP/2 listener's too, where Node offers it). */
function closeIdleConnections(server: Server | Http2SecureServer): void {
  const closeIdle = (server as Partial<Server>).closeIdleConnections;
  if (typeof closeIdle === 'function') closeIdle.call(server);
}

function closeAllConnections(server: Server | Http2SecureServer): void {
  const closeAll = (server as Partial<Server>).closeAllConnections;
  if (typeof closeAll === 'function') closeAll.call(server);
}

function noop(): void {}
