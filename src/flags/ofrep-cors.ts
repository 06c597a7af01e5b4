import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * CORS for OFREP, so a page on an origin of `flags.client.allowed_origins`
 * can evaluate flags with a client-side token. Only a listed origin is
 * granted, by echoing it (never `*`); no cookies are involved (the token
 * travels in a header), so no Allow-Credentials. ETag and Retry-After are
 * exposed: the web provider reads the first to send If-None-Match, and the
 * second to back off after a 429.
 */
export const OFREP_ALLOWED_HEADERS = 'Authorization, X-API-Key, Content-Type, If-None-Match';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Adds the CORS grant when the request's origin is allowed; true when it was. */
export function grantCors(request: FastifyRequest, reply: FastifyReply, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  // The answer depends on Origin whether or not it is granted: a cache must not hand one origin's answer to another.
  reply.header('vary', 'Origin');
  if (typeof origin !== 'string' || !allowed.has(origin)) return false;
  reply.header('access-control-allow-origin', origin);
  reply.header('access-control-expose-headers', 'ETag, Retry-After');
  if (request.method === 'OPTIONS') {
    reply.header('access-control-allow-methods', 'POST');
    reply.header('access-control-allow-headers', OFREP_ALLOWED_HEADERS);
    reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
  }
  return true;
}
