import type { FlagHygiene } from '../flags/flag-hygiene.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenMatches } from '../http/admin-token.js';
import type { Controller } from '../controller/controller.js';
import type { SecretRedactor } from '../config/secret-redactor.js';
import { CutoverError } from '../core/errors.js';
import type { FailedAuthThrottle } from '../core/failed-auth-throttle.js';
import type { FlagService } from '../flags/flag-service.js';
import type { AdminAccess } from '../http/admin-access.js';
import { registerDashboardAssets } from './dashboard-assets.js';
import { CSRF_HEADER, DashboardAuth } from './dashboard-auth.js';
import { DashboardEventHub } from './dashboard-events.js';
import { CONTENT_SECURITY_POLICY, dashboardPage, loginPage } from './dashboard-page.js';
import { cameOverHttps, clearedSessionCookie, sessionCookie, sessionIdFrom } from './session-cookie.js';
import { csrfMatches, DashboardSessions } from './session-store.js';

/**
 * The web dashboard on the admin address: the page at /dashboard (the login
 * form without a session), POST /dashboard/login and /dashboard/logout, the
 * static assets, and the live event stream at GET /api/v1/events/stream.
 * The admin API's auth hook asks `auth` about requests without the bearer
 * token (see dashboard-auth.ts).
 */
export interface DashboardDeps {
  controller: Controller;
  token: string;
  flags: FlagService;
  /** The stale badge of the flag list. */
  flagHygiene?: FlagHygiene;
  /** Failed logins count against the same per-address budget as wrong bearer tokens. */
  throttle: FailedAuthThrottle;
  redactor: SecretRedactor;
}

export interface Dashboard {
  auth: DashboardAuth;
  /** How the admin API lets the session cookie in (see http/admin-access.ts). */
  access: AdminAccess;
  /** Open event streams, for tests. */
  streams: { count(): number };
}

export function csrfRefused(): CutoverError {
  return new CutoverError('FORBIDDEN', `a write with the dashboard's session cookie needs the ${CSRF_HEADER} header`, {
    hint: 'Reload the dashboard; scripts should send `Authorization: Bearer <token>` instead of the cookie.',
  });
}

export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Dashboard {
  const sessions = new DashboardSessions();
  const auth = new DashboardAuth(sessions);
  const hygiene = deps.flagHygiene;
  const hub = new DashboardEventHub(
    deps.controller,
    deps.flags,
    deps.redactor,
    Date.now,
    hygiene === undefined ? undefined : (environment) => hygiene.staleness(environment),
  );
  // Streams never end on their own: end them before the server waits for its connections.
  app.addHook('preClose', async () => {
    hub.close();
  });

  void app.register(async (scope) => {
    // Only the login form posts a form; the rest of the API stays JSON-only.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      },
    );

    scope.get('/', async (_request, reply) => reply.redirect('/dashboard', 303));
    const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const session = auth.sessionFrom(request.raw);
      return html(reply, 200, session ? dashboardPage(session.csrf) : loginPage(null));
    };
    scope.get('/dashboard', page);
    scope.get('/dashboard/', page);

    scope.post<{ Body: { token?: unknown } | undefined }>('/dashboard/login', async (request, reply) => {
      if (!sameOrigin(request)) return html(reply, 403, loginPage('This login form was sent from another site.'));
      const retryAfter = deps.throttle.retryAfterSeconds(request.ip);
      if (retryAfter > 0) {
        return html(
          reply.header('retry-after', String(retryAfter)),
          429,
          loginPage(`Too many wrong tokens from this address; try again in ${retryAfter} s.`),
        );
      }
      const given = typeof request.body?.token === 'string' ? request.body.token.trim() : '';
      if (!tokenMatches(deps.token, `Bearer ${given}`)) {
        deps.throttle.recordFailure(request.ip);
        return html(reply, 401, loginPage('Wrong token.'));
      }
      const previous = sessionIdFrom(request.headers.cookie);
      if (previous) sessions.revoke(previous);
      const session = sessions.create();
      const maxAge = Math.floor(sessions.ttlMs / 1000);
      // 303: the browser follows with a GET, so reloading the page never posts the token again.
      return reply
        .header('set-cookie', sessionCookie(session.id, maxAge, cameOverHttps(request.raw)))
        .redirect('/dashboard', 303);
    });

    scope.post('/dashboard/logout', async (request, reply) => {
      const session = auth.sessionFrom(request.raw);
      if (session && !csrfMatches(session, request.headers[CSRF_HEADER])) throw csrfRefused();
      if (session) sessions.revoke(session.id);
      return reply
        .header('set-cookie', clearedSessionCookie(cameOverHttps(request.raw)))
        .code(204)
        .send();
    });

    registerDashboardAssets(scope);

    scope.get('/api/v1/events/stream', async (request, reply) => {
      const session = auth.sessionOf(request);
      const hello = hub.hello();
      reply.hijack();
      hub.open(reply.raw, session ? () => sessions.get(session.id) !== null : () => true, hello);
    });
  });

  const access: AdminAccess = {
    isPublic: (url) => auth.isPublic(url),
    check: (request) => {
      const verdict = auth.check(request);
      return verdict === 'csrf-refused' ? csrfRefused() : verdict;
    },
  };
  return { auth, access, streams: hub };
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(body);
}

/** A browser sends Origin with a form POST; one from another site is refused (login CSRF). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
