import { connectionListedHeaders, headerNameIs, isHopByHopHeader, removeHeaders } from './hop-by-hop-headers.js';

/** What the proxy learns about a request while copying its headers, written into the caller's object. */
export interface RequestHeadFacts {
  /** The first Host header as the client sent it, or undefined. */
  host: string | undefined;
  /** True when the request declares a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
}

/**
 * The headers to send upstream, as a flat [name, value, ...] list (the form
 * undici takes without copying into an object): the client's headers minus
 * hop-by-hop ones, the original Host kept, and X-Forwarded-For (client address
 * appended), X-Forwarded-Proto and X-Forwarded-Host set by this proxy.
 *
 * One pass over `rawHeaders`; facts go into `facts` rather than a returned
 * tuple so the hot path allocates only the list itself.
 */
export function buildUpstreamRequestHeaders(
  rawHeaders: readonly string[],
  clientAddress: string | undefined,
  proto: string,
  facts: RequestHeadFacts,
): string[] {
  const out: string[] = [];
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let connection: string | undefined;
  let hasBody = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    if (isHopByHopHeader(name)) {
      if (headerNameIs(name, 'transfer-encoding')) hasBody = true;
      else if (headerNameIs(name, 'connection')) connection = connection === undefined ? value : `${connection}, ${value}`;
      continue;
    }
    switch (name.length) {
      case 4:
        if (headerNameIs(name, 'host')) {
          // A second Host header would make undici fail the request; the first one routes it.
          if (host !== undefined) continue;
          host = value;
        }
        break;
      case 14:
        if (headerNameIs(name, 'content-length')) hasBody = value !== '0';
        break;
      case 15:
        if (headerNameIs(name, 'x-forwarded-for')) {
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
          continue;
        }
        break;
      case 16:
        if (headerNameIs(name, 'x-forwarded-host')) continue;
        break;
      case 17:
        if (headerNameIs(name, 'x-forwarded-proto')) continue;
        break;
    }
    out.push(name, value);
  }
  if (clientAddress !== undefined) {
    out.push('x-forwarded-for', forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`);
  } else if (forwardedFor !== undefined) {
    out.push('x-forwarded-for', forwardedFor);
  }
  out.push('x-forwarded-proto', proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  if (connection !== undefined) {
    const listed = connectionListedHeaders(connection);
    if (listed !== null) removeHeaders(out, listed);
  }
  facts.host = host;
  facts.hasBody = hasBody;
  return out;
}
