import type { Slot } from '../core/slot.js';

/**
 * The router port: moves traffic between releases. The embedded proxy is the
 * default adapter; nginx (router/nginx) is the one for teams that keep nginx
 * in front. A switch is atomic: a request is routed by exactly one route
 * table, the old or the new.
 */
export interface Upstream {
  /** Instance id, see runtime/index.ts. */
  id: string;
  host: string;
  port: number;
}

export interface ServiceRoute {
  service: string;
  hosts: string[];
  default: boolean;
  /** The release receiving new requests, or null when the service has none yet (503). */
  target: RouteTarget | null;
  /** During a canary: a second release that gets `weight` percent of clients (sticky) and every matching request. */
  canary?: CanaryRoute | null;
  /** While set, clients outside `allow` get the maintenance answer (503 + Retry-After) instead of the release. */
  maintenance?: MaintenanceRoute | null;
  /**
   * Paths of shared hosts this service answers (`routes`): a request for the host whose path starts with the
   * prefix (a whole segment) goes here; the longest prefix wins, over a service that has the whole host.
   */
  paths?: PathRoute[];
  /** Largest request body (bytes): a bigger one is answered 413 by the router, never sent on. */
  maxBodyBytes?: number | null;
  /** Set when the service's hosts are served over HTTPS: the certificate they are served with, by SNI. */
  tls?: TlsRoute | null;
  /** `grpc`: calls come over HTTP/2 and go to the instances over HTTP/2 cleartext; absent: HTTP. */
  protocol?: 'grpc';
}

export interface PathRoute {
  host: string;
  /** Starts with '/', no trailing '/' (except '/' itself), e.g. /api. */
  prefix: string;
  /** Send the request on without the prefix (`/api/users` → `/users`). */
  strip: boolean;
}

/**
 * A service's certificate as the router gets it (JSON-safe: it crosses the
 * proxy process's owner-only control socket; never logged). A new pair
 * serves new handshakes; connections already open keep theirs.
 */
export interface TlsRoute {
  /** Each serves the route's hosts it lists: the team's one file for all of them, or one ACME certificate per host. */
  certificates: TlsCertificate[];
  /** The Strict-Transport-Security value its HTTPS answers carry, when set. */
  hsts?: string;
}

export interface TlsCertificate {
  hosts: string[];
  /** PEM certificate chain, leaf first. */
  certPem: string;
  keyPem: string;
}

/**
 * The ACME challenges a router answers while an order is under way (a
 * snapshot: each call replaces the last). HTTP-01 on the plain listener,
 * TLS-ALPN-01 (RFC 8737) on the TLS listener to a handshake that offers
 * only `acme-tls/1`. Short-lived: they are not kept across a proxy restart.
 */
export interface AcmeChallenges {
  /** Token → key authorization, answered at /.well-known/acme-challenge/<token>. */
  http01: Record<string, string>;
  /** Host → the challenge certificate (with its acmeIdentifier extension) and key. */
  tlsAlpn01: Record<string, { certPem: string; keyPem: string }>;
}

/** A service in maintenance, as the router gets it (JSON-safe: it crosses the proxy process's control socket). */
export interface MaintenanceRoute {
  /** Shown to users on the page; plain text (the router escapes it). */
  message: string;
  retryAfterSec: number;
  /** CIDR blocks (`10.0.0.0/8`, `127.0.0.1/32`) whose clients are routed as usual. */
  allow: string[];
  /** The team's own HTML page (`maintenance_page`), sent as is to clients that prefer HTML; absent for cutover's page. */
  page?: string;
}

export interface CanaryRoute {
  target: RouteTarget;
  /** Percent of clients (0-100). Raising it only moves clients from stable to canary, never back. */
  weight: number;
  /** Who a client is: a cookie the proxy sets when missing, a request header, or the client IP. */
  stickiness: { by: 'cookie' | 'header' | 'ip'; name: string };
  /** A request matching any rule goes to the canary at any weight, 0 included. */
  match: { header?: string; cookie?: string; value: string }[];
}

export interface RouteTarget {
  releaseId: string;
  version: string;
  slot: Slot;
  upstreams: Upstream[];
}

export interface ReleaseCounters {
  service: string;
  releaseId: string;
  requests: number;
  /** Responses by status class; `error` counts requests that got no upstream response (502/503 made by the proxy). */
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number; error: number };
  inFlight: number;
  openUpgrades: number;
  latency: { bucketsMs: number[]; counts: number[]; sumMs: number; count: number };
}

export interface Router {
  readonly kind: string;
  /** True when the router answers a route's `maintenance` itself; a router without it ignores the field. */
  readonly supportsMaintenance?: boolean;
  /** True when the router terminates TLS with a route's `tls`; a router without it must not be given one. */
  readonly supportsTls?: boolean;
  /**
   * Replaces a service's route. Requests already in flight keep the upstream they
   * were sent to; every request that starts after the promise resolves uses the
   * new target. The embedded proxy switches within the call; nginx resolves
   * once its reload took effect. A rejection (ROUTER_CONFIG_REJECTED,
   * ROUTER_APPLY_FAILED) means the previous route still serves.
   */
  setRoute(route: ServiceRoute): Promise<void>;
  /** Takes an upstream out of rotation (unhealthy) or puts it back. Unknown ids are ignored. */
  setUpstreamHealthy(upstreamId: string, healthy: boolean): void;
  /**
   * Resolves when no request or upgraded connection is in flight to the given
   * release, or when the timeout passes; then closes what is left (sockets,
   * WebSockets, pooled connections) to that release's upstreams.
   */
  drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }>;
  /**
   * For rolling updates: waits until no request (or upgraded connection) is in
   * flight to one upstream that was taken out of rotation, or until the timeout,
   * then closes that upstream's pooled connections, so stopping the instance
   * cannot race a request on a kept-alive connection. Unknown ids resolve at once.
   */
  drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }>;
  /** Per-release counters; a router in another process answers its latest reading (see refreshCounters). */
  counters(): ReleaseCounters[];
  /** For a router whose counters() answers a periodic reading (the proxy process): takes a reading now. */
  refreshCounters?(): Promise<void>;
  /**
   * A bounded sample of recent latencies (ms) of a release, for the statistical judge; empty when not kept.
   * A router in another process answers it asynchronously.
   */
  latencySamples?(service: string, releaseId: string): number[] | Promise<number[]>;
  /**
   * Optional: a new generation of the router process takes its listening
   * socket over and the old one winds down (`cutover proxy restart`); no
   * moment without a listener. Upgraded connections get the drain time the router was built with.
   */
  handOver?(): Promise<{ pid: number; generation: string; workers: number }>;
  /** Optional (the embedded proxy): answers these ACME challenges from now on, in place of the last set. */
  setAcmeChallenges?(challenges: AcmeChallenges): Promise<void>;
  /** Stops routing and lets go of what it holds: the deliberate full stop. */
  close(): Promise<void>;
  /**
   * Optional: lets go without stopping the traffic (a proxy process or nginx serves on with its last routes),
   * for a controller that stops or restarts. A router without it is closed instead.
   */
  detach?(): Promise<void>;
}
