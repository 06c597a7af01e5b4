import { Pool } from 'undici';
import type { Upstream } from '../index.js';

export interface UpstreamPoolOptions {
  /** Most connections kept to one upstream; requests beyond wait in the pool's queue. */
  connections: number;
  /** Time to receive the response headers before the request fails with 502. */
  headersTimeoutMs: number;
  /** Longest pause between two body chunks before the request fails (0 = never, for streams). */
  bodyTimeoutMs: number;
}

/**
 * The keep-alive connections to one upstream instance (an undici Pool). The
 * pool belongs to one release, so draining a release closes exactly its
 * connections and nothing of the release that replaced it.
 */
export class UpstreamPool {
  readonly upstream: Upstream;
  readonly pool: Pool;
  private closed = false;

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

  /** Fails in-flight requests with `reason` and closes every connection now. */
  async destroy(reason: Error): Promise<void> {
    this.closed = true;
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
