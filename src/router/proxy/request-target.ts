import { normalizeHost } from '../route-table.js';

/** `http://authority/rest` or `https://…`; the scheme case-insensitive (RFC 3986 §3.1). */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * The origin-form target (`/path?query`) the proxy routes and forwards, from
 * the request line's target. A server must accept the absolute-form
 * (`GET http://shop.test/api/x HTTP/1.1`, RFC 9112 §3.2.2), and nginx routes
 * it by its path; taken as written it matched no path route (it does not
 * start with `/`), so it went to the host's own service with the whole URL,
 * past the path route's service and its max_body.
 *
 * Null when the target cannot be routed as one request: another form than
 * origin, absolute or `*`, userinfo in the authority (RFC 9110 §4.2.4), or an
 * authority naming another host than the Host header, which picked the
 * service (HAProxy answers that 400 too; which of the two is meant is not
 * ours to guess).
 */
export function originFormTarget(url: string, hostHeader: string | undefined): string | null {
  if (url.charCodeAt(0) === 0x2f /* / */ || url === '*') return url;
  const match = ABSOLUTE_FORM.exec(url);
  if (match === null) return null;
  const authority = match[1] as string;
  const rest = match[2] as string;
  if (authority.includes('@') || hostHeader === undefined) return null;
  if (normalizeHost(authority) !== normalizeHost(hostHeader)) return null;
  if (rest.length === 0) return '/';
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}
