import { z } from 'zod';
import { parseListenAddress } from './listen-address.js';
import { flag, parsedBy, strictMap, text, wholeNumber } from './schema-fields.js';

/**
 * HTTPS at the edge: the embedded proxy's TLS listener (`server.https`),
 * whether plain HTTP is redirected to it (`server.redirect_http`), and per
 * service the certificate its hosts are served with (`tls`) and the
 * Strict-Transport-Security header its HTTPS answers carry (`hsts`).
 */

const listenAddress = parsedBy((value) => {
  const result = parseListenAddress(value);
  return result.ok ? { ok: true, value: result.address } : result;
});

export const tlsServerFields = {
  https: listenAddress.optional(),
  redirect_http: flag.optional(),
};

export const tlsServiceFields = {
  tls: strictMap(
    {
      cert: text('expected the path of a PEM certificate chain (leaf first)'),
      key: text('expected the path of the PEM private key of that certificate'),
    },
    'expected a map like { cert: ./tls/fullchain.pem, key: ./tls/privkey.pem }',
  ).optional(),
  hsts: strictMap(
    {
      // Seconds, as in the header: a year is past what durations may say (setTimeout's 24.8 days), and 0 is how a
      // site takes HSTS back.
      max_age: wholeNumber(0, 2 ** 31 - 1),
      include_subdomains: flag.optional(),
    },
    'expected a map like { max_age: 31536000, include_subdomains: false } (max_age in seconds)',
  ).optional(),
};

export type RawServiceTls = z.infer<(typeof tlsServiceFields)['tls']>;
