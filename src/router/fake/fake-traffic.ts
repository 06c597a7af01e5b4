import type { ErrorCode } from '../../core/errors.js';
import type { Slot } from '../../core/slot.js';
import type { Upstream } from '../index.js';

/** A request as the fake sees it: what routing reads, nothing else (no body, no path). */
export interface FakeRequest {
  /** The Host header, port allowed; missing means the default service. */
  host?: string;
  /** Header names in any case. */
  headers?: Readonly<Record<string, string>>;
  /** Sent as one Cookie header. */
  cookies?: Readonly<Record<string, string>>;
  /** The client's address (default 127.0.0.1): the sticky key of `by: ip`, and of `by: header` without the header. */
  ip?: string;
}

/** Where a request went: a release and one of its upstreams. */
export interface FakeRouted {
  readonly routed: true;
  readonly service: string;
  readonly releaseId: string;
  readonly version: string;
  readonly slot: Slot;
  readonly upstream: Upstream;
  /** The `Set-Cookie` the proxy would add when it made up the client's sticky id, else null. */
  readonly setCookie: string | null;
}

/**
 * What the router answered by itself: 404 for an unknown host, 503 when no release or healthy upstream is
 * routed, or when the service is in maintenance and the client is not allowed (with its Retry-After).
 */
export interface FakeRefused {
  readonly routed: false;
  readonly status: 404 | 503;
  readonly code: Extract<ErrorCode, 'SERVICE_NOT_FOUND' | 'NO_UPSTREAM' | 'MAINTENANCE'>;
  readonly retryAfterSec?: number;
  readonly service: string | null;
}

export type FakeRouting = FakeRouted | FakeRefused;

/** A request held in flight: counted in `inFlight`, waited for by a drain, until `end`. */
export interface FakeExchange {
  readonly routing: FakeRouting;
  /** False once ended, or cut by a drain that timed out. */
  readonly isOpen: boolean;
  /** The upstream answered `status`: counted in its class. A no-op once ended or cut. */
  end(status?: number): void;
}

/** An upgraded (WebSocket) connection: open until the client closes it or a drain of its release cuts it. */
export interface FakeUpgrade {
  readonly routing: FakeRouting;
  readonly isOpen: boolean;
  /** Resolves with who closed it. */
  readonly closed: Promise<'client' | 'router'>;
  close(): void;
}
