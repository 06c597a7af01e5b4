import path from 'node:path';
import { z } from 'zod';
import { httpUrl, strictMap, text } from './schema-fields.js';

/**
 * `server.acme`: which RFC 8555 CA issues the certificates of `tls: acme`
 * services. Let's Encrypt production unless `directory` names another (its
 * staging, or any CA by URL); `ca_bundle` is a PEM file of extra roots to
 * trust for the directory's own HTTPS (a private CA, or pebble in the tests).
 * Not yet part of `server` in config-schema.ts: the HTTPS listener's change
 * adds it there next to `server.https`.
 */
export const LETS_ENCRYPT_PRODUCTION_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

const EMAIL_EXPECTED =
  'expected an email address for the CA to write to about expiring certificates, like ops@example.com';

export const acmeSchema = strictMap(
  {
    directory: httpUrl.optional(),
    // Only the shape the CA needs (local@domain); the CA itself decides whether it accepts the address.
    email: z
      .string({ error: EMAIL_EXPECTED })
      .trim()
      .regex(/^[^\s@:/]+@[^\s@:/]+\.[^\s@:/]+$/, { error: EMAIL_EXPECTED })
      .max(254, { error: EMAIL_EXPECTED })
      .optional(),
    ca_bundle: text('expected the path of a PEM file of CA certificates').optional(),
  },
  'expected a map like { directory: https://acme-v02.api.letsencrypt.org/directory, email: ops@example.com }',
);

export type RawAcmeConfig = z.infer<typeof acmeSchema>;

/** `server.acme`, defaulted, with `ca_bundle` made absolute. */
export interface AcmeConfig {
  directoryUrl: string;
  email?: string;
  caBundlePath?: string;
}

export function resolveAcme(raw: RawAcmeConfig | undefined, baseDir: string): AcmeConfig {
  return {
    directoryUrl: raw?.directory ?? LETS_ENCRYPT_PRODUCTION_DIRECTORY,
    ...(raw?.email === undefined ? {} : { email: raw.email }),
    ...(raw?.ca_bundle === undefined ? {} : { caBundlePath: path.resolve(baseDir, raw.ca_bundle) }),
  };
}
