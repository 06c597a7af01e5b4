import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { normalizeHost } from '../route-table.js';

/**
 * An HTTP/2 request's headers as an HTTP/1.1 request would carry them, in
 * the flat [name, value, ...] form the rest of the proxy reads (routing,
 * canary rules, forwarded headers): the pseudo-headers dropped, `:authority`
 * as the Host header (RFC 9113 §8.3.1: it takes the place of Host), and the
 * Cookie headers HTTP/2 lets a client split joined back into one with "; "
 * (§8.2.3), as an HTTP/1.1 upstream expects.
 *
 * A `host` header naming another host than `:authority` makes the request
 * malformed (§8.3.1): both are kept as Host lines, so the request is refused
 * 400 as a repeated Host is (forwarded-headers.ts). Before, `:authority`
 * routed it and the app, which may read `host`, acted for the other name.
 * One naming the same host (in another case, with a port) is dropped.
 */
export function http1RawHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let hosts: string[] | undefined;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    // HTTP/2 header names are lower case on the wire (§8.2.1): Node refuses any other.
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority' && authority === undefined) authority = value;
      continue;
    }
    if (name === 'cookie') {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'host') {
      (hosts ??= []).push(value);
      continue;
    }
    out.push(name, value);
  }
  if (hosts !== undefined) {
    for (let i = hosts.length - 1; i >= 0; i--) {
      const host = hosts[i] as string;
      if (authority !== undefined && normalizeHost(host) === normalizeHost(authority)) continue;
      out.unshift('host', host);
    }
  }
  if (authority !== undefined) out.unshift('host', authority);
  if (cookie !== undefined) out.push('cookie', cookie);
  return out;
}

/** True for a request that came over HTTP/2 (the TLS listener's `h2`). */
export function isHttp2(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/** An HTTP/2 request has a body unless its HEADERS frame ended the stream (a length is optional in HTTP/2). */
export function http2HasBody(req: Http2ServerRequest): boolean {
  return !req.stream.endAfterHeaders;
}
