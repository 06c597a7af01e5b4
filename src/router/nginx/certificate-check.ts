import { createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { CutoverError } from '../../core/errors.js';
import type { ServiceRoute } from '../index.js';

/**
 * A route's certificates must load before nginx gets them, as in the
 * embedded proxy (tls-contexts.ts): a pair that does not rejects that route
 * alone, naming its service, where `nginx -t` would refuse the whole batch
 * with a message about a file name. Only OpenSSL's reason is repeated: the
 * message must never carry the key itself. `loaded` remembers the pairs
 * that did (by hash), so a canary step re-sending the same certificate
 * costs no key parse.
 */
export function assertCertificatesLoad(route: ServiceRoute, loaded: Set<string>): void {
  for (const certificate of route.tls?.certificates ?? []) {
    const pair = createHash('sha256').update(certificate.certPem).update('\0').update(certificate.keyPem).digest('hex');
    if (loaded.has(pair)) continue;
    try {
      createSecureContext({ cert: certificate.certPem, key: certificate.keyPem, minVersion: 'TLSv1.2' });
    } catch (error) {
      throw new CutoverError(
        'CONFIG_INVALID',
        `service '${route.service}': its certificate and key do not load (${(error as Error).message})`,
        { hint: 'Check that tls.cert is a PEM chain, leaf first, and tls.key is the PEM key of that leaf.' },
      );
    }
    // Bounded: a long-running server sees few distinct pairs, but renewals add one every few weeks.
    if (loaded.size >= 256) loaded.clear();
    loaded.add(pair);
  }
}
