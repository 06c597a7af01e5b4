import { Pool } from 'undici';
import type { Upstream } from '../index.js';
import type { UpgradedConnection } from './upgraded-connection.js';

export interface UpstreamPoolOptions {
  /** Most connections kept to one upstream; requests beyond wait in the pool's queue. */
  connections: number;
  /** Most requests waiting for a connection on top of those; past it the proxy answers 503 with Retry-After. */
  pending: number;
  /** Time to open a TCP connection to the upstream. */
  connectTimeoutMs: number;
  /** Time to receive the response headers before the request fails with 504. */
  headersTimeoutMs: number;
  /** Longest silence inside a response body before the request is cut (0 = never). */
  bodyTimeoutMs: number;
  /** Passive health: consecutive failures that take an instance out of rotation, and for how long. */
  passiveHealth: PassiveHealthPolicy;
}

export interface PassiveHealthPolicy {
  /** Consecutive connect errors, timeouts or 5xx answers that eject an instance (0 = never). */
  consecutiveFailures: number;
  /** The first ejection's length; each further one adds as much, up to `maxEjectionMs`. */
  ejectionMs: number;
  maxEjectionMs: number;
}

/**
 * The keep-alive connections to one upstream instance (an undici Pool), and
 * what the proxy has in flight to it. The pool belongs to one release, so
 * draining a release closes exactly its connections and nothing of the
 * release that replaced it.
 *
 * The load is counted here, per instance, so one instance of a release can be
 * drained on its own (a rolling update): a request or tunnel is counted on the
 * pool it was dispatched to and uncounted on that same pool when it ends or
 * moves to another instance (see ProxyExchange and WebSocketTunnel).
 */
export class UpstreamPool {
  readonly upstream: Upstream;
  readonly pool: Pool;
  /** Requests dispatched to this instance that have not ended. A plain field: the hot path only adds and subtracts 1. */
  inFlight = 0;
  /** Most of `inFlight` this pool takes (its connections plus its queue): the bound that keeps a hung instance from holding everyone. */
  readonly limit: number;
  /** Connect errors, timeouts and 5xx in a row from this instance; any other answer resets it. */
  consecutiveFailures = 0;
  readonly passiveHealth: PassiveHealthPolicy;
  /** For the upgraded connections, which open their own socket rather than use the pool. */
  readonly connectTimeoutMs: number;
  /** Open upgraded connections to this instance, kept so a drain that times out can cut them. */
  private readonly tunnels = new Set<UpgradedConnection>();
  private closed = false;
  private destroyed = false;

  constructor(upstream: Upstream, options: UpstreamPoolOptions) {
    this.upstream = upstream;
    this.limit = options.connections + options.pending;
    this.passiveHealth = options.passiveHealth;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.pool = new Pool(`http://${formatHost(upstream.host)}:${upstream.port}`, {
      connections: options.connections,
      pipelining: 1,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
    });
  }

  /** True when a new request would wait beyond the queue bound: the proxy answers 503 instead. */
  get isFull(): boolean {
    return this.inFlight >= this.limit;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** No request and no upgraded connection in flight to this instance through this pool. */
  get isIdle(): boolean {
    return this.inFlight === 0 && this.tunnels.size === 0;
  }

  /** Requests and upgraded connections in flight: what a destroy now would cut. */
  get load(): number {
    return this.inFlight + this.tunnels.size;
  }

  tunnelOpened(tunnel: UpgradedConnection): void {
    this.tunnels.add(tunnel);
  }

  tunnelClosed(tunnel: UpgradedConnection): void {
    this.tunnels.delete(tunnel);
  }

  /** True when this pool still points at the same address (an id reused for another port gets a new pool). */
  sameAddress(upstream: Upstream): boolean {
    return this.upstream.host === upstream.host && this.upstream.port === upstream.port;
  }

  /** Lets in-flight requests finish, then closes the idle connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }

  /**
   * Fails in-flight requests with `reason`, cuts the upgraded connections and
   * closes every connection now (also after a graceful `close` that is still
   * waiting for its requests).
   */
  async destroy(reason: Error): Promise<void> {
    this.closed = true;
    // destroy() ends each tunnel, which removes it from the set: iterate a copy.
    for (const tunnel of [...this.tunnels]) tunnel.destroy();
    if (this.destroyed) return;
    this.destroyed = true;
    await this.pool.destroy(reason);
  }
}

/**
 * Transport errors: the instance could not be reached, or its connection
 * closed or reset. Connect-time codes (refused, unreachable, timed out, DNS)
 * never come with a written request; ECONNRESET, EPIPE and UND_ERR_SOCKET
 * ("other side closed") also come from a connection that had taken the
 * request. So the code says whose fault it is, not whether a byte was written:
 * that is where in undici's sequence it failed (ProxyExchange.nothingWritten,
 * WebSocketTunnel's connect).
 */
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

export function isConnectErrorCode(code: unknown): boolean {
  return typeof code === 'string' && CONNECT_ERROR_CODES.has(code);
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
