import { normalizeHost, type ServiceEntry } from '../route-table.js';
import { ACME_CHALLENGE_PATH } from './acme-http01.js';
import type { TargetBinding } from './release-traffic.js';

/** What `crossedEdge` returns for a request over HTTPS to a service served in the clear: answered 421. */
export const MISDIRECTED = Symbol('misdirected');

/**
 * A request on the wrong side of the TLS edge for its service: over HTTPS
 * for a service served in the clear (421), or in the clear for one with a
 * certificate: the `https://host[:port]/path` it is redirected to (308,
 * the port left out when it is 443), or null when it is served as it came.
 * `redirectPort` is the TLS listener's port when plain requests are
 * redirected (`redirectHttp`), else null.
 */
export function crossedEdge(
  entry: ServiceEntry<TargetBinding>,
  secure: boolean,
  hostHeader: string | undefined,
  url: string | undefined,
  redirectPort: number | null,
): typeof MISDIRECTED | string | null {
  if (secure) return MISDIRECTED;
  const target = redirectPort === null ? null : redirectTarget(entry, hostHeader, url);
  if (target === null) return null;
  return `https://${target.host}${redirectPort === 443 ? '' : `:${redirectPort}`}${target.path}`;
}

/**
 * Where a plain request for a service served over HTTPS is sent: its own
 * host (one of the service's, never an arbitrary Host header a default
 * service caught) and path, or null when it is served in the clear: a host
 * the certificate is not for, or an ACME HTTP-01 challenge, which must be
 * answered over plain HTTP.
 */
function redirectTarget(
  entry: ServiceEntry<TargetBinding>,
  hostHeader: string | undefined,
  url: string | undefined,
): { host: string; path: string } | null {
  if (hostHeader === undefined) return null;
  const host = normalizeHost(hostHeader);
  if (!entry.tlsHosts.includes(host)) return null;
  // Absolute-form targets (`GET http://host/path`) are rare from browsers; the path alone is what matters here.
  const path = url !== undefined && url.startsWith('/') ? url : '/';
  if (path.startsWith(ACME_CHALLENGE_PATH)) return null;
  return { host, path };
}
