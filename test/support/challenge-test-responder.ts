import http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import {
  ACME_TLS_ALPN_PROTOCOL,
  HTTP01_PATH_PREFIX,
  type ChallengeResponder,
  type TlsAlpnChallengeCertificate,
} from '../../src/tls/challenge-responder.js';

/**
 * A ChallengeResponder of its own for the issuer's tests, standing in for
 * the proxy: a plain HTTP server answering HTTP-01 and a TLS server that
 * speaks only ALPN acme-tls/1 and presents the challenge certificate of the
 * SNI host (RFC 8737). Both on 127.0.0.1, on ports the CA is pointed at.
 * It records what the CA asked, so a test can tell the CA really came.
 */
export interface ChallengeTestResponder extends ChallengeResponder {
  httpPort: number;
  tlsPort: number;
  /** Paths the plain server was asked for, and SNI names the TLS server saw, in order. */
  httpRequests: string[];
  tlsHandshakes: string[];
  /** Answers currently up (tokens and hosts), to check the issuer took them down. */
  pending(): { http01: string[]; tlsAlpn01: string[] };
  stop(): Promise<void>;
}

export async function startChallengeTestResponder(): Promise<ChallengeTestResponder> {
  const http01 = new Map<string, string>();
  const tlsAlpn01 = new Map<string, tls.SecureContext>();
  const httpRequests: string[] = [];
  const tlsHandshakes: string[] = [];

  const plain = http.createServer((request, response) => {
    const url = request.url ?? '';
    httpRequests.push(url);
    const token = url.startsWith(HTTP01_PATH_PREFIX) ? url.slice(HTTP01_PATH_PREFIX.length) : null;
    const answer = token === null ? undefined : http01.get(token);
    if (request.method !== 'GET' || answer === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such challenge\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(answer);
  });
  plain.keepAliveTimeout = 1000;

  const secure = tls.createServer({
    ALPNProtocols: [ACME_TLS_ALPN_PROTOCOL],
    SNICallback: (servername, callback) => {
      tlsHandshakes.push(servername);
      const context = tlsAlpn01.get(servername.toLowerCase());
      if (context) callback(null, context);
      else callback(new Error(`no tls-alpn-01 challenge for ${servername}`));
    },
  });
  // The CA only looks at the certificate; nothing is read or written after the handshake.
  secure.on('secureConnection', (socket) => socket.end());
  secure.on('tlsClientError', () => undefined);

  await Promise.all([listen(plain), listen(secure)]);
  return {
    httpPort: (plain.address() as AddressInfo).port,
    tlsPort: (secure.address() as AddressInfo).port,
    httpRequests,
    tlsHandshakes,
    setHttp01(token: string, keyAuthorization: string) {
      http01.set(token, keyAuthorization);
    },
    clearHttp01(token: string) {
      http01.delete(token);
    },
    setTlsAlpn01(host: string, pair: TlsAlpnChallengeCertificate) {
      tlsAlpn01.set(host.toLowerCase(), tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem }));
    },
    clearTlsAlpn01(host: string) {
      tlsAlpn01.delete(host.toLowerCase());
    },
    pending: () => ({ http01: [...http01.keys()], tlsAlpn01: [...tlsAlpn01.keys()] }),
    async stop() {
      plain.closeAllConnections();
      await Promise.all([close(plain), close(secure)]);
    },
  };
}

function listen(server: http.Server | tls.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function close(server: http.Server | tls.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
