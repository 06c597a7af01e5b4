/**
 * What nginx and HAProxy can take of the values a config routes on, where
 * that is narrower than the config's own grammar. One place for both: the
 * routers' renderers refuse anything else (nginx-names.ts,
 * haproxy-names.ts), and the config checks (router-literal-checks.ts)
 * refuse it at load with the field's path, before a deploy meets it.
 */

/**
 * Path prefixes nginx matches as the proxy does: nginx compares a location
 * with the decoded, normalised path, so a `%`-escape would match something
 * else than the raw target the proxy compares; `$` and `;` have no business
 * in a location.
 */
export const NGINX_PATH_PREFIX = /^\/[A-Za-z0-9._~!&'()*+,=:@/-]*$/;
