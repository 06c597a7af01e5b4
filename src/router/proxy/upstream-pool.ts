import http2, { type ClientHttp2Session } from 'node:http2';
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
  /** The HTTP/2 cleartext connection of a gRPC service's instance (`protocol: grpc`), opened on first use. */
  private h2: Promise<ClientHttp2Session> | null = null;
  private h2Session: ClientHttp2Session | null = null;

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

  /**
   * The instance's HTTP/2 cleartext session (prior knowledge, RFC 9113 §3.3),
   * connected: gRPC calls share it as streams. A session that closed, failed
   * or got a GOAWAY is replaced by a new one at the next call; the calls on
   * it finish where they are. Rejects when the instance cannot be reached:
   * then no byte of the call was sent, and another instance may take it.
   */
  http2Session(): Promise<ClientHttp2Session> {
    const current = this.h2Session;
    if (this.h2 !== null && (current === null || usable(current))) return this.h2;
    const session = http2.connect(`http://${formatHost(this.upstream.host)}:${this.upstream.port}`, {
      settings: { enablePush: false },
    });
    this.h2Session = session;
    const forget = (): void => {
      if (this.h2Session === session) {
        this.h2Session = null;
        this.h2 = null;
      }
    };
    session.once('close', forget);
    session.once('goaway', forget);
    const connecting = new Promise<ClientHttp2Session>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.destroy();
        reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
      }, this.connectTimeoutMs);
      session.once('connect', () => {
        clearTimeout(timer);
        resolve(session);
      });
      session.once('error', (error: Error) => {
        clearTimeout(timer);
        forget();
        reject(error);
      });
    });
    // Errors after the connect are the calls' business (each stream gets its own): never unhandled.
    session.on('error', noop);
    this.h2 = connecting;
    return connecting;
  }

  /** Lets in-flight requests finish, then closes the idle connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A GOAWAY: the calls under way finish, none starts on this session.
    this.h2Session?.close();
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
    this.h2Session?.destroy();
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

function usable(session: ClientHttp2Session): boolean {
  return !session.closed && !session.destroyed;
}

function noop(): void {}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
