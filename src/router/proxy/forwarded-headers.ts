import {
  connectionListedHeaders,
  headerNameIs,
  headerNameIsUnderscoreSpelling,
  isHopByHopHeader,
  removeHeaders,
} from './hop-by-hop-headers.js';
import { isValidHostHeader } from './host-header.js';

/** What the proxy learns about a request while copying its headers, written into the caller's object. */
export interface RequestHeadFacts {
  /** The first Host header as the client sent it, or undefined. */
  host: string | undefined;
  /**
   * False when the request must get 400 for its Host (RFC 9112 §3.2): more than one Host line, whatever their
   * values (which one the app reads is not ours to know), or a value that is no `host[:port]` (host-header.ts).
   */
  hostValid: boolean;
  /** True when the request declares a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The X-Forwarded-For chain a trusted peer sent (before the proxy appends the peer); undefined otherwise. */
  trustedForwardedFor: string | undefined;
}

/**
 * The headers to send upstream, as a flat [name, value, ...] list (the form
 * undici takes without copying into an object): the client's headers minus
 * hop-by-hop ones, the original Host kept, then the proxy's own
 * X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and X-Real-IP.
 *
 * Order matters: the names a client lists in `Connection` are removed from
 * the client's headers *before* the proxy adds its own, so
 * `Connection: close, X-Forwarded-For` can drop the client's claim but never
 * the address the proxy states (the backend always learns who connected).
 *
 * Who is believed: a peer listed in `server.trusted_proxies` (`trusted`) is a
 * load balancer in front of us, so its X-Forwarded-For chain is kept with the
 * peer appended, and its X-Forwarded-Proto/Host, X-Real-IP and Forwarded pass.
 * Anyone else's are replaced by what the proxy saw itself (Forwarded, which
 * would need a second syntax to rewrite, is dropped): a client must not be
 * able to pick the address or scheme the backend believes.
 *
 * The same names spelt with `_` (`X_Forwarded_For`) are dropped from anyone:
 * CGI-style backends read them as the hyphenated ones, and no load balancer
 * sends them.
 *
 * One pass over `rawHeaders`; facts go into `facts` rather than a returned
 * tuple so the hot path allocates only the list itself.
 */
export function buildUpstreamRequestHeaders(
  rawHeaders: readonly string[],
  clientAddress: string | undefined,
  proto: string,
  trusted: boolean,
  facts: RequestHeadFacts,
): string[] {
  const out: string[] = [];
  let host: string | undefined;
  let hostValid = true;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let realIp: string | undefined;
  let forwarded: string | undefined;
  let connection: string | undefined;
  let hasBody = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    if (isHopByHopHeader(name)) {
      if (headerNameIs(name, 'transfer-encoding')) hasBody = true;
      else if (headerNameIs(name, 'connection'))
        connection = connection === undefined ? value : `${connection}, ${value}`;
      continue;
    }
    switch (name.length) {
      case 4:
        if (headerNameIs(name, 'host')) {
          // A second line is refused (hostValid) and never sent on: undici would fail the request with it.
          if (host !== undefined) {
            hostValid = false;
            continue;
          }
          host = value;
          if (!isValidHostHeader(value)) hostValid = false;
        }
        break;
      case 9:
        if (headerNameIs(name, 'forwarded')) {
          forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
          continue;
        }
        if (headerNameIs(name, 'x-real-ip')) {
          realIp ??= value;
          continue;
        }
        if (headerNameIsUnderscoreSpelling(name, 'x-real-ip')) continue;
        break;
      case 14:
        if (headerNameIs(name, 'content-length')) hasBody = value !== '0';
        break;
      case 15:
        if (headerNameIs(name, 'x-forwarded-for')) {
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
          continue;
        }
        if (headerNameIsUnderscoreSpelling(name, 'x-forwarded-for')) continue;
        break;
      case 16:
        if (headerNameIs(name, 'x-forwarded-host')) {
          forwardedHost ??= value;
          continue;
        }
        if (headerNameIsUnderscoreSpelling(name, 'x-forwarded-host')) continue;
        break;
      case 17:
        if (headerNameIs(name, 'x-forwarded-proto')) {
          forwardedProto ??= value;
          continue;
        }
        if (headerNameIsUnderscoreSpelling(name, 'x-forwarded-proto')) continue;
        break;
    }
    out.push(name, value);
  }
  if (connection !== undefined) {
    const listed = connectionListedHeaders(connection);
    if (listed !== null) {
      removeHeaders(out, listed);
      // The forwarding headers were held aside above; a listed one is the sender's hop-by-hop claim, dropped too.
      if (listed.includes('x-forwarded-for')) forwardedFor = undefined;
      if (listed.includes('x-forwarded-proto')) forwardedProto = undefined;
      if (listed.includes('x-forwarded-host')) forwardedHost = undefined;
      if (listed.includes('x-real-ip')) realIp = undefined;
      if (listed.includes('forwarded')) forwarded = undefined;
    }
  }
  // From here on: the proxy's own headers, which nothing the client sent can remove.
  if (!trusted) {
    forwardedFor = undefined;
    forwardedProto = undefined;
    forwardedHost = undefined;
    realIp = undefined;
    forwarded = undefined;
  }
  if (clientAddress !== undefined) {
    out.push('x-forwarded-for', forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`);
  } else if (forwardedFor !== undefined) {
    out.push('x-forwarded-for', forwardedFor);
  }
  out.push('x-forwarded-proto', forwardedProto ?? proto);
  const shownHost = forwardedHost ?? host;
  if (shownHost !== undefined) out.push('x-forwarded-host', shownHost);
  const real = realIp ?? clientAddress;
  if (real !== undefined) out.push('x-real-ip', real);
  if (forwarded !== undefined) out.push('forwarded', forwarded);
  facts.host = host;
  facts.hostValid = hostValid;
  facts.hasBody = hasBody;
  facts.trustedForwardedFor = forwardedFor;
  return out;
}
