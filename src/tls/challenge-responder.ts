/**
 * The port through which an ACME order proves control of a host: the
 * issuer puts the answer here, the listeners that the CA connects to serve
 * it. The embedded proxy implements it (its plain listener answers HTTP-01,
 * its TLS listener TLS-ALPN-01); the issuer never knows which listener that
 * is, so it runs the same against a test responder.
 */

/** The self-signed acme-tls/1 certificate (RFC 8737) and its key, both PEM. */
export interface TlsAlpnChallengeCertificate {
  certPem: string;
  keyPem: string;
}

export interface ChallengeResponder {
  /** Answer `GET /.well-known/acme-challenge/<token>` with `keyAuthorization` (text/plain), on the plain HTTP listener. */
  setHttp01(token: string, keyAuthorization: string): void;
  clearHttp01(token: string): void;
  /** Present `pair` to a TLS handshake for `host` (by SNI) that offers ALPN `acme-tls/1`, and nothing else on it. */
  setTlsAlpn01(host: string, pair: TlsAlpnChallengeCertificate): void;
  clearTlsAlpn01(host: string): void;
}

/** The challenge types cutover answers; DNS-01 (wildcards) needs a DNS provider and is not one of them yet. */
export const ACME_CHALLENGE_TYPES = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallengeType = (typeof ACME_CHALLENGE_TYPES)[number];

/** The path prefix HTTP-01 is answered under (RFC 8555 §8.3); the plain listener must not redirect it to HTTPS. */
export const HTTP01_PATH_PREFIX = '/.well-known/acme-challenge/';

/** The ALPN protocol of TLS-ALPN-01 (RFC 8737 §6.2). */
export const ACME_TLS_ALPN_PROTOCOL = 'acme-tls/1';
