import { createSecureContext } from 'node:tls';
import { CutoverError } from '../../core/errors.js';
import type { ServiceRoute } from '../index.js';

/**
 * A route's certificates must load before nginx gets them, as in the
 * embedded proxy (tls-contexts.ts): a pair that does not rejects that route
 * alone, naming its service, where `nginx -t` would refuse the whole batch
 * with a message about a file name. Only OpenSSL's reason is repeated: the
 * message must never carry the key itself.
 */
export function assertCertificatesLoad(route: ServiceRoute): void {
  for (const certificate of route.tls?.certificates ?? []) {
    try {
      createSecureContext({ cert: certificate.certPem, key: certificate.keyPem, minVersion: 'TLSv1.2' });
    } catch (error) {
      throw new CutoverError(
        'CONFIG_INVALID',
        `service '${route.service}': its certificate and key do not load (${(error as Error).message})`,
        { hint: 'Check that tls.cert is a PEM chain, leaf first, and tls.key is the PEM key of that leaf.' },
      );
    }
  }
}
