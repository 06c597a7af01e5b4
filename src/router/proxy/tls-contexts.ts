import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { CutoverError } from '../../core/errors.js';
import type { AcmeChallenges, ServiceRoute } from '../index.js';
import { normalizeHost, servedHostsOf } from '../route-table.js';

/** RFC 8737: the only protocol an ACME server's TLS-ALPN-01 validation offers. */
const ACME_TLS_PROTOCOL = 'acme-tls/1';
const kAcmeValidation = Symbol('acme-tls/1 validation');

interface Prepared {
  byHost: Map<string, SecureContext>;
  byPair: Map<string, SecureContext>;
}

/**
 * The certificates the proxy's TLS listener serves, by host name (SNI).
 *
 * Built from the routes on every route change, before the route table is
 * swapped, so a pair that does not load rejects the route and changes
 * nothing. A context is made once per distinct pair (a canary weight change
 * re-sends the same certificate and must not cost a key parse). Swapping the
 * map is one assignment: new handshakes get the new certificate, connections
 * already open keep the one they negotiated.
 *
 * TLS-ALPN-01 challenges ride on the same listener: Node asks the ALPN
 * callback before the SNI callback, both with the socket as `this`, so a
 * handshake that offers only `acme-tls/1` is marked in the first and given
 * the challenge certificate in the second; every other handshake is untouched.
 */
export class TlsContexts {
  private byHost = new Map<string, SecureContext>();
  private byPair = new Map<string, SecureContext>();
  private challenges = new Map<string, SecureContext>();

  /** The contexts the routes need; throws CONFIG_INVALID naming the service when a pair does not load. */
  prepare(routes: Iterable<ServiceRoute>): Prepared {
    const byHost = new Map<string, SecureContext>();
    const byPair = new Map<string, SecureContext>();
    for (const route of routes) {
      if (route.tls === undefined || route.tls === null) continue;
      const routeHosts = new Set(servedHostsOf(route));
      for (const certificate of route.tls.certificates) {
        const context = this.contextOf(route.service, certificate.certPem, certificate.keyPem, byPair);
        // Only the route's own hosts: a route cannot claim another service's name through its certificate.
        for (const host of certificate.hosts.map(normalizeHost)) if (routeHosts.has(host)) byHost.set(host, context);
      }
    }
    return { byHost, byPair };
  }

  use(prepared: Prepared): void {
    this.byHost = prepared.byHost;
    this.byPair = prepared.byPair;
  }

  /** The TLS-ALPN-01 certificates to answer from now on (the last set replaced). */
  setChallenges(tlsAlpn01: AcmeChallenges['tlsAlpn01']): void {
    const next = new Map<string, SecureContext>();
    for (const [host, pair] of Object.entries(tlsAlpn01))
      next.set(normalizeHost(host), this.contextOf(`acme:${host}`, pair.certPem, pair.keyPem, new Map()));
    this.challenges = next;
  }

  /** Node's ALPNCallback and SNICallback for this set (see `alpnCallback` and `sniCallback`). */
  readonly alpn = alpnCallback(this);
  readonly sni = sniCallback(this);

  /** A validation's certificate for `host`, or the host's own. */
  contextFor(host: string, validation: boolean): SecureContext | undefined {
    return validation ? this.challenges.get(host) : this.byHost.get(host);
  }

  get hasChallenges(): boolean {
    return this.challenges.size > 0;
  }

  private contextOf(owner: string, certPem: string, keyPem: string, into: Map<string, SecureContext>): SecureContext {
    const pair = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex');
    let context = into.get(pair) ?? this.byPair.get(pair);
    if (context === undefined) {
      try {
        context = createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
      } catch (error) {
        // OpenSSL's reason only: the message must never carry the key itself.
        throw new CutoverError(
          'CONFIG_INVALID',
          `service '${owner}': its certificate and key do not load (${(error as Error).message})`,
          { hint: 'Check that tls.cert is a PEM chain, leaf first, and tls.key is the PEM key of that leaf.' },
        );
      }
    }
    into.set(pair, context);
    return context;
  }
}

/**
 * Node's ALPNCallback (`this` is the socket): HTTP/2 when offered, else HTTP/1.1; an
 * ACME validation (only acme-tls/1, while a challenge is up) is marked for
 * the SNI callback. Anything else has no protocol in common with us.
 */
function alpnCallback(contexts: TlsContexts) {
  return function (this: TLSSocket, hello: { servername: string; protocols: string[] }): string | undefined {
    const { protocols } = hello;
    if (protocols.includes('h2')) return 'h2';
    if (protocols.includes('http/1.1')) return 'http/1.1';
    if (protocols.length === 1 && protocols[0] === ACME_TLS_PROTOCOL && contexts.hasChallenges) {
      (this as TLSSocket & { [kAcmeValidation]?: boolean })[kAcmeValidation] = true;
      return ACME_TLS_PROTOCOL;
    }
    return undefined;
  };
}

/** Node's SNICallback (`this` is the socket): a host without a certificate fails the handshake (no default one). */
function sniCallback(contexts: TlsContexts) {
  return function (
    this: TLSSocket,
    servername: string,
    done: (error: Error | null, context?: SecureContext) => void,
  ): void {
    const validation = (this as TLSSocket & { [kAcmeValidation]?: boolean })[kAcmeValidation] === true;
    const context = contexts.contextFor(servername.toLowerCase(), validation);
    if (context === undefined) done(new Error(`no certificate for ${servername.slice(0, 253)}`));
    else done(null, context);
  };
}

/** True for a connection that negotiated acme-tls/1: a validation, never HTTP (RFC 8737 §3: close after the handshake). */
export function isAcmeValidation(socket: TLSSocket): boolean {
  return socket.alpnProtocol === ACME_TLS_PROTOCOL;
}
