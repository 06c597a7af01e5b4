import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The dashboard's session cookie. HttpOnly (page scripts never see it),
 * SameSite=Strict (no other site's page sends it along) and Path=/ (the
 * page and the API under /api/v1 share it).
 *
 * Secure is set only when the browser reached cutover over HTTPS: directly
 * over TLS, or through a proxy that says so with X-Forwarded-Proto: https.
 * The admin address is plain HTTP on loopback by default, and a browser
 * drops a Secure cookie sent over plain HTTP, so always setting it would
 * make the default setup unusable. Trusting the header from any client is
 * safe here: the worst a lying client gets is a cookie its own browser will
 * not send back.
 */
export const SESSION_COOKIE = 'cutover_session';

export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** The session id from a Cookie header, or undefined. */
export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export function cameOverHttps(raw: IncomingMessage): boolean {
  if ((raw.socket as Partial<TLSSocket>).encrypted === true) return true;
  const forwarded = raw.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}
