import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { csrfMatches, type DashboardSession, type DashboardSessions } from './session-store.js';
import { sessionIdFrom } from './session-cookie.js';

/**
 * How the admin API's auth hook treats a request that has no valid bearer
 * token. The page itself, the login and the static assets are public (the
 * page shows only the login form without a session); the API under /api/v1
 * accepts the session cookie, except the SDK routes, which are for the SDK
 * token. A cookie rides along with every request the browser makes, so a
 * cookie-authenticated write must also carry the session's CSRF token in
 * X-Cutover-CSRF, which only the dashboard's own page can read (a meta tag,
 * same-origin); a bearer-token request needs no such header.
 */
export const CSRF_HEADER = 'x-cutover-csrf';

export type SessionAccess = 'session' | 'csrf-refused' | 'none';

const PUBLIC_EXACT = new Set(['/', '/dashboard', '/dashboard/', '/dashboard/login', '/dashboard/logout']);
const PUBLIC_PREFIXES = ['/dashboard/assets/', '/dashboard/vendor/'];
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export class DashboardAuth {
  /** The session each cookie-authenticated request came with, for routes that need it (the event stream). */
  private readonly sessionByRequest = new WeakMap<IncomingMessage, DashboardSession>();

  constructor(readonly sessions: DashboardSessions) {}

  /** Routes that check the session themselves (or need none). */
  isPublic(url: string): boolean {
    const path = pathOf(url);
    return PUBLIC_EXACT.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix));
  }

  check(request: FastifyRequest): SessionAccess {
    const path = pathOf(request.url);
    if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/sdk/')) return 'none';
    const session = this.sessionFrom(request.raw);
    if (!session) return 'none';
    if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) return 'csrf-refused';
    this.sessionByRequest.set(request.raw, session);
    return 'session';
  }

  /** The session a request was let in with; null when it came with the bearer token. */
  sessionOf(request: FastifyRequest): DashboardSession | null {
    return this.sessionByRequest.get(request.raw) ?? null;
  }

  sessionFrom(raw: IncomingMessage): DashboardSession | null {
    return this.sessions.get(sessionIdFrom(raw.headers.cookie));
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
