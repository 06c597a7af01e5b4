import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { CutoverError } from '../../core/errors.js';
import type { ServiceRoute } from '../index.js';
import { normalizeHost } from '../route-table.js';

/**
 * The certificates the proxy's TLS listener serves, by host name (SNI).
 *
 * Built from the routes on every route change, before the route table is
 * swapped, so a pair that does not load rejects the route and changes
 * nothing. A context is made once per distinct pair (a canary weight change
 * re-sends the same certificate and must not cost a key parse). Swapping the
 * map is one assignment: new handshakes get the new certificate, connections
 * already open keep the one they negotiated.
 */
export class TlsContexts {
  private byHost = new Map<string, SecureContext>();
  private byPair = new Map<string, SecureContext>();

  /** The contexts the routes need; throws CONFIG_INVALID naming the service when a pair does not load. */
  prepare(routes: Iterable<ServiceRoute>): { byHost: Map<string, SecureContext>; byPair: Map<string, SecureContext> } {
    const byHost = new Map<string, SecureContext>();
    const byPair = new Map<string, SecureContext>();
    for (const route of routes) {
      const tls = route.tls;
      if (tls === undefined || tls === null) continue;
      const pair = createHash('sha256').update(tls.certPem).update('\0').update(tls.keyPem).digest('hex');
      let context = byPair.get(pair) ?? this.byPair.get(pair);
      if (context === undefined) {
        try {
          context = createSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' });
        } catch (error) {
          // OpenSSL's reason only: the message must never carry the key itself.
          throw new CutoverError(
            'CONFIG_INVALID',
            `service '${route.service}': its certificate and key do not load (${(error as Error).message})`,
            { hint: 'Check that tls.cert is a PEM chain, leaf first, and tls.key is the PEM key of that leaf.' },
          );
        }
      }
      byPair.set(pair, context);
      for (const host of route.hosts) byHost.set(normalizeHost(host), context);
    }
    return { byHost, byPair };
  }

  use(prepared: { byHost: Map<string, SecureContext>; byPair: Map<string, SecureContext> }): void {
    this.byHost = prepared.byHost;
    this.byPair = prepared.byPair;
  }

  get size(): number {
    return this.byHost.size;
  }

  /** Node's SNICallback: a host without a certificate fails the handshake (there is no default certificate). */
  readonly sni = (servername: string, done: (error: Error | null, context?: SecureContext) => void): void => {
    const context = this.byHost.get(servername.toLowerCase());
    if (context === undefined) done(new Error(`no certificate for ${servername.slice(0, 253)}`));
    else done(null, context);
  };
}
