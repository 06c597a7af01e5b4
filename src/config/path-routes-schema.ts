import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { flag, hostName, listOf, parsedBy, strictMap } from './schema-fields.js';

/**
 * Services that share a host by path (`routes`), and the largest request
 * body a service takes (`max_body`), both answered by the embedded proxy.
 */

const PREFIX_EXPECTED =
  'expected a path prefix like /api: starting with /, no trailing / (except / itself), no . or .. segments, at most 1024 characters';
/** Path characters of RFC 3986 (pchar and /), no query or fragment: a prefix is matched against the raw target. */
const PREFIX = /^\/(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]+(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*)?$/;

const pathPrefix = parsedBy((value) => {
  if (typeof value !== 'string' || value.length > 1024 || !PREFIX.test(value))
    return { ok: false, expected: PREFIX_EXPECTED };
  // A dot segment would match differently here than in the app that resolves it.
  if (value.split('/').some((segment) => segment === '.' || segment === '..'))
    return { ok: false, expected: PREFIX_EXPECTED };
  return { ok: true, value };
});

export const pathRouteServiceFields = {
  routes: z
    .preprocess(
      listOf,
      z.array(
        strictMap(
          { host: hostName, path_prefix: pathPrefix, strip_prefix: flag.optional() },
          'expected a map like { host: shop.example.com, path_prefix: /api, strip_prefix: false }',
        ),
        { error: 'expected a list of { host, path_prefix } routes' },
      ),
    )
    .optional(),
  max_body: parsedBy((value) => {
    const result = parseByteSize(value, 1);
    return result.ok ? { ok: true, value: result.bytes } : result;
  }).optional(),
};
