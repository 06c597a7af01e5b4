import http2, { type Http2SecureServer } from 'node:http2';
import type { TlsContexts } from './tls-contexts.js';

/** Streams one HTTP/2 client may have open at once (nginx's http2_max_concurrent_streams is 128). */
const H2_MAX_CONCURRENT_STREAMS = 128;
/** Bytes of one HTTP/2 header list, like Node's 16 KiB HTTP/1.1 head limit. */
const H2_MAX_HEADER_LIST_SIZE = 16 * 1024;

/** The client limits of the plain listener, which the TLS listener's HTTP/1.1 connections share. */
export interface ClientHttpOptions {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
}

/**
 * The TLS listener: HTTP/2 by ALPN, HTTP/1.1 for clients that offer only
 * that (or no ALPN at all), both through the same 'request' and 'upgrade'
 * handlers. Node's HTTP/1.1 limits do not come from the options of an HTTP/2
 * server: they are set on it, where its HTTP/1.1 connections read them.
 */
export function createTlsServer(
  contexts: TlsContexts,
  httpOptions: ClientHttpOptions,
  handshakeTimeout: number,
): Http2SecureServer {
  const server = http2.createSecureServer({
    allowHTTP1: true,
    SNICallback: contexts.sni,
    ALPNCallback: contexts.alpn,
    minVersion: 'TLSv1.2',
    // A handshake is part of the head a client owes us: the same bound ends a slow one.
    handshakeTimeout,
    // One client may not hold an unbounded number of streams, nor header lists larger than Node's HTTP/1.1 parser takes.
    settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS, maxHeaderListSize: H2_MAX_HEADER_LIST_SIZE },
    maxSessionMemory: 16,
  });
  const http1 = server as Http2SecureServer & ClientHttpOptions;
  http1.keepAliveTimeout = httpOptions.keepAliveTimeout;
  http1.headersTimeout = httpOptions.headersTimeout;
  http1.requestTimeout = httpOptions.requestTimeout;
  // An idle HTTP/2 session (and an idle HTTP/1.1 connection) is closed after the keep-alive timeout.
  server.setTimeout(httpOptions.keepAliveTimeout);
  return server;
}
