import { Pool } from 'undici';
import type { Upstream } from '../index.js';
import type { UpgradedConnection } from './release-traffic.js';

export interface UpstreamPoolOptions {
  /** Most connections kept to one upstream; requests beyond wait in the pool's queue. */
  connections: number;
  /** Time to receive the response headers before the request fails with 502. */
  headersTimeoutMs: number;
  /** Longest pause between two body chunks before the request fails (0 = never, for streams). */
  bodyTimeoutMs: number;
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
  /** Open upgraded connections to this instance, kept so a drain that times out can cut them. */
  private readonly tunnels = new Set<UpgradedConnection>();
  private closed = false;
  private destroyed = false;

  constructor(upstream: Upstream, options: UpstreamPoolOptions) {
    this.upstream = upstream;
    this.pool = new Pool(`http://${formatHost(upstream.host)}:${upstream.port}`, {
      connections: options.connections,
      pipelining: 1,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      connectTimeout: 5_000,
    });
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

/** Errors that mean the request never reached the upstream (no byte was written), so another instance may take it. */
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
