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

/** Header names nginx can read (`X-User-Id` → `$http_x_user_id`): no `.` or other token characters. */
export const NGINX_HEADER_NAME = /^[A-Za-z0-9_-]+$/;
export const NGINX_COOKIE_NAME = /^[A-Za-z0-9_.-]+$/;

/** Header and cookie names HAProxy's `req.fhdr()` and `req.cook()` take, as written into haproxy.cfg. */
export const HAPROXY_HEADER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const HAPROXY_COOKIE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Cookie-octets (RFC 6265) without quote, `'`, `,`, `;`, `\`, `#`, `%`, `$`: safe inside single quotes. */
export const HAPROXY_MATCH_VALUE = /^[A-Za-z0-9!&()*+./:<=>?@[\]^_`{|}~-]{1,256}$/;
