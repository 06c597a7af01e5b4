import { CutoverError } from '../../core/errors.js';
import { parseCidr } from '../../config/cidr.js';
import type { UpstreamTrafficConfig } from '../../config/types.js';
import type { ServiceRoute, TlsCertificate } from '../index.js';
import {
  durationText,
  instanceSilenceMs,
  instanceTrafficOf,
  type RouterTrafficSettings,
} from '../router-traffic-settings.js';
import { normalizeHost, servedHostsOf } from '../route-table.js';
import { certificateFiles, maintenanceFiles } from './nginx-edge-files.js';
import {
  assertHostName,
  assertPathPrefix,
  geoNetwork,
  quoted,
  quotedPath,
  regexLiteral,
  variablePrefix,
} from './nginx-names.js';

/**
 * The server blocks of cutover's file, rendered so that a config means on
 * nginx what it means on the embedded proxy (proxy-router.ts, route-table.ts):
 *
 * - one block per group of hosts that share a certificate (a host with none
 *   is served in the clear); with `https`, every block also listens there
 *   (`ssl http2`), a block without a certificate refusing the handshake, as
 *   the proxy fails one for a name it has no certificate for;
 * - a host shared by path (`routes`) gets a block of its own: a prefix
 *   location per path route (`= /api` and `/api/`, so whole segments only;
 *   nginx picks the longest prefix, as the proxy does), and `/` for the
 *   service that has the whole host, else the default service, else 404;
 * - the default service gets a catch-all block on the plain listener;
 * - in each location, in the proxy's order: HTTPS for a service served in
 *   the clear → 421; plain HTTP for a name with a certificate → 308 to HTTPS
 *   (except /.well-known/acme-challenge/); maintenance → 503 + Retry-After
 *   and the page (files cutover writes, HTML or JSON by Accept) unless the
 *   client's address is allowed; `max_body` → 413; then the release.
 *
 * Pure, like render-nginx-config.ts.
 */

/** A release choice of a service (render-nginx-config.ts), or null when it has none routed (503). */
export interface Proxying {
  /** The upstream name of the request's release, or the variable holding it. */
  variable: string;
  setCookieVariable: string | null;
}

export interface ServersInput {
  routes: readonly ServiceRoute[];
  proxying: ReadonlyMap<string, Proxying | null>;
  /** `host:port` of the plain listener, as written after `listen`. */
  listen: string;
  /** The TLS listener, or null without `https`. */
  https: { address: string; port: number } | null;
  redirectHttp: boolean;
  /** Where the certificates and maintenance pages are (nginx-edge-files.ts); needed once a route has either. */
  filesDir: string | null;
  accessLogPath: string;
  logFormat: string;
  /** Token → key authorization: ACME HTTP-01 answers, whatever the host. */
  acmeHttp01: Readonly<Record<string, string>>;
  generationLocation: string[];
  /** `server.client_timeouts`, as every block (control server included) says it (clientLimitLines). */
  clientLimits: string[];
  /** The realip lines every block says behind trusted proxies (render-nginx-config.ts clientAddressLines). */
  clientAddress: string[];
  traffic: RouterTrafficSettings;
}

/**
 * `server.client_timeouts`: `headers` is nginx's `client_header_timeout` and
 * `keep_alive` its `keepalive_timeout`. Every block of cutover's listener says
 * the same, because nginx reads a request head with the settings of the
 * listener's default block, before it knows which block the Host picks. The
 * whole-request `request` limit has no nginx equivalent (`client_body_timeout`
 * is a silence between reads, left to the team's nginx.conf), nor has
 * `max_connections` (nginx's `worker_connections`, in the team's nginx.conf).
 */
export function clientLimitLines(traffic: RouterTrafficSettings): string[] {
  return [
    `  client_header_timeout ${durationText(traffic.clientHeadersTimeoutMs)};`,
    `  keepalive_timeout ${durationText(traffic.clientKeepAliveTimeoutMs)};`,
  ];
}

/**
 * Said in every block of cutover's listener: path routes are matched on the
 * path with `//` merged, on every router (request-path.ts), whatever the
 * team's http-level `merge_slashes`. nginx parses a request's path with the
 * settings of the listener's default block, before it knows which block the
 * Host picks, so every block says it (and they are all cutover's).
 */
export const PATH_RULE_LINES = ['  merge_slashes on;'];

interface Location {
  /** Null: `location /`; else a prefix (whole segments). */
  prefix: string | null;
  route: ServiceRoute | null;
  strip: boolean;
}

interface Block {
  names: string[];
  certificate: TlsCertificate | null;
  /** The catch-all of the default service (plain listener only: no redirect from a name it was not given). */
  catchAll: boolean;
  locations: Location[];
}

const ACME_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const ACME_KEY_AUTHORIZATION = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,128}$/;
const HSTS_VALUE = /^[A-Za-z0-9=;, -]{1,200}$/;
export const MAINTENANCE_PATH = '/.cutover/maintenance/';

/** http-level maps the blocks read: the redirect test, the page type by Accept, and per service its allow list and HSTS. */
export function renderEdgeMaps(input: ServersInput): string[] {
  const out: string[] = [];
  if (input.https !== null && input.redirectHttp) {
    out.push(
      // Raw target, like the proxy: a validation must reach the plain listener even for a name with a certificate.
      'map $request_uri $cutover_acme_path { "~^/\\.well-known/acme-challenge/" 1; default 0; }',
      'map "$scheme:$cutover_acme_path" $cutover_redirect { "http:0" 1; default 0; }',
    );
  }
  if (input.routes.some((route) => route.maintenance)) {
    // As the proxy's prefersHtml: HTML when text/html comes before any JSON type, else JSON.
    out.push('map $http_accept $cutover_page_type { "~^((?!json).)*text/html" html; default json; }');
  }
  for (const route of input.routes) {
    const prefix = variablePrefix(route.service);
    if (route.maintenance) {
      out.push(`geo $${prefix}_closed {`, '  default 1;');
      for (const block of route.maintenance.allow) {
        const parsed = parseCidr(block);
        if (!parsed.ok)
          throw new CutoverError('CONFIG_INVALID', `maintenance allow entry '${block}': ${parsed.expected}`);
        out.push(`  ${geoNetwork(parsed.cidr.address, parsed.cidr.prefix)} 0;`);
      }
      out.push('}');
    }
    const hsts = route.tls?.hsts;
    if (hsts !== undefined && input.https !== null) {
      if (!HSTS_VALUE.test(hsts))
        throw new CutoverError('CONFIG_INVALID', `service '${route.service}': HSTS value '${hsts}' is not plain`);
      // Over HTTPS only, and not when the app sent its own (as the proxy's exchange does).
      out.push(
        `map "$scheme:$upstream_http_strict_transport_security" $${prefix}_hsts { "https:" ${quoted(hsts)}; default ""; }`,
      );
    }
  }
  return out;
}

export function renderServers(input: ServersInput): string[] {
  const out: string[] = [];
  for (const block of planBlocks(input.routes)) out.push('', ...renderBlock(block, input));
  return out;
}

/** Which hosts share a block, and what each block's locations route to. */
function planBlocks(routes: readonly ServiceRoute[]): Block[] {
  const byPath = new Map<string, { prefix: string; strip: boolean; route: ServiceRoute }[]>();
  for (const route of routes) {
    for (const path of route.paths ?? []) {
      const host = normalizeHost(path.host);
      assertHostName(host);
      assertPathPrefix(route.service, path.prefix);
      const list = byPath.get(host) ?? [];
      list.push({ prefix: path.prefix, strip: path.strip, route });
      byPath.set(host, list);
    }
  }
  const blocks: Block[] = [];
  const defaultRoute = routes.find((route) => route.default) ?? null;
  for (const route of routes) {
    const remaining = [...new Set(route.hosts.map(normalizeHost))].filter((host) => !byPath.has(host));
    for (const host of remaining) assertHostName(host);
    const whole: Location[] = [{ prefix: null, route, strip: false }];
    for (const certificate of route.tls?.certificates ?? []) {
      const covered = new Set(certificate.hosts.map(normalizeHost));
      const names = remaining.filter((host) => covered.has(host));
      if (names.length === 0) continue;
      blocks.push({ names, certificate, catchAll: false, locations: whole });
      for (const name of names) remaining.splice(remaining.indexOf(name), 1);
    }
    if (remaining.length > 0) blocks.push({ names: remaining, certificate: null, catchAll: false, locations: whole });
  }
  for (const host of [...byPath.keys()].sort()) {
    const paths = byPath.get(host) ?? [];
    const locations: Location[] = paths.map((path) => ({
      prefix: path.prefix === '/' ? null : path.prefix,
      route: path.route,
      strip: path.strip && path.prefix !== '/',
    }));
    if (!paths.some((path) => path.prefix === '/')) {
      const owner = routes.find((route) => route.hosts.some((name) => normalizeHost(name) === host)) ?? defaultRoute;
      locations.push({ prefix: null, route: owner, strip: false });
    }
    blocks.push({ names: [host], certificate: certificateFor(routes, host), catchAll: false, locations });
  }
  if (defaultRoute !== null)
    blocks.push({
      names: [],
      certificate: null,
      catchAll: true,
      locations: [{ prefix: null, route: defaultRoute, strip: false }],
    });
  return blocks;
}

/** As the proxy's TLS contexts: a certificate serves a name only for a route that serves that name. */
function certificateFor(routes: readonly ServiceRoute[], host: string): TlsCertificate | null {
  for (const route of routes) {
    if (!servedHostsOf(route).includes(host)) continue;
    for (const certificate of route.tls?.certificates ?? [])
      if (certificate.hosts.some((name) => normalizeHost(name) === host)) return certificate;
  }
  return null;
}

function renderBlock(block: Block, input: ServersInput): string[] {
  const out = ['server {', `  listen ${input.listen}${block.catchAll ? ' default_server' : ''};`];
  if (input.https !== null && !block.catchAll) {
    out.push(`  listen ${input.https.address} ssl http2;`, '  ssl_protocols TLSv1.2 TLSv1.3;');
    if (block.certificate === null) out.push('  ssl_reject_handshake on;');
    else {
      const files = certificateFiles(requireFilesDir(input), block.certificate);
      out.push(`  ssl_certificate ${quotedPath(files.cert)};`, `  ssl_certificate_key ${quotedPath(files.key)};`);
    }
  }
  if (block.names.length > 0) out.push(`  server_name ${block.names.join(' ')};`);
  out.push(...input.clientLimits, ...input.clientAddress, ...PATH_RULE_LINES);
  // Declared for the log format on every path, including the answers that never choose a release.
  out.push('  set $cutover_release "";', ...input.generationLocation, ...acmeLocations(input));
  const served = new Set<ServiceRoute>();
  for (const location of block.locations) {
    const body = locationBody(location, block, input);
    if (location.route !== null) served.add(location.route);
    if (location.prefix === null) out.push('  location / {', ...body, '  }');
    else
      out.push(
        `  location = ${quoted(location.prefix)} {`,
        ...body,
        '  }',
        `  location ${quoted(`${location.prefix}/`)} {`,
        ...body,
        '  }',
      );
  }
  out.push(...answerLocations([...served], input), '}');
  return out;
}

/** The HTTP-01 answers, exact locations (they beat every prefix): for any host, as the proxy answers them. */
export function acmeLocations(input: ServersInput): string[] {
  const out: string[] = [];
  for (const [token, keyAuthorization] of Object.entries(input.acmeHttp01)) {
    // Written into the config unquoted-safe: only the base64url alphabet (and one dot) may pass.
    if (!ACME_TOKEN.test(token) || !ACME_KEY_AUTHORIZATION.test(keyAuthorization))
      throw new CutoverError(
        'CONFIG_INVALID',
        'an ACME HTTP-01 token or key authorization is not in the RFC 8555 alphabet',
      );
  }
  for (const [token, keyAuthorization] of Object.entries(input.acmeHttp01).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(
      `  location = /.well-known/acme-challenge/${token} {`,
      '    access_log off;',
      '    default_type application/octet-stream;',
      `    return 200 "${keyAuthorization}";`,
      '  }',
    );
  }
  return out;
}

function locationBody(location: Location, block: Block, input: ServersInput): string[] {
  const route = location.route;
  if (route === null) {
    return [
      '    access_log off;',
      '    default_type "application/json; charset=utf-8";',
      `    return 404 ${quoted(errorBody('SERVICE_NOT_FOUND', 'no service is routed for this host'))};`,
    ];
  }
  const prefix = variablePrefix(route.service);
  const tls = route.tls !== undefined && route.tls !== null;
  const out: string[] = [];
  if (input.https !== null && !tls)
    out.push('    error_page 421 @cutover_misdirected;', '    if ($scheme = https) { return 421; }');
  if (input.https !== null && input.redirectHttp && tls && block.certificate !== null) {
    const port = input.https.port === 443 ? '' : `:${input.https.port}`;
    out.push(`    if ($cutover_redirect) { return 308 https://$host${port}$request_uri; }`);
  }
  if (route.maintenance) {
    out.push(
      `    error_page 503 ${MAINTENANCE_PATH}${prefix}.$cutover_page_type;`,
      `    if ($${prefix}_closed) { return 503; }`,
    );
  }
  const maxBody = route.maxBodyBytes ?? null;
  if (maxBody !== null) {
    if (!Number.isInteger(maxBody) || maxBody < 1)
      throw new CutoverError('CONFIG_INVALID', `service '${route.service}': max_body ${maxBody} is not a byte count`);
    out.push(`    client_max_body_size ${maxBody};`, '    error_page 413 @cutover_too_large;');
  }
  const proxying = input.proxying.get(route.service) ?? null;
  if (proxying === null) {
    out.push(
      '    access_log off;',
      '    default_type "application/json; charset=utf-8";',
      `    return 503 ${quoted(errorBody('NO_UPSTREAM', `service '${safeText(route.service)}' has no release routed yet`, 'No healthy instance is routed for this host.'))};`,
    );
    return out;
  }
  out.push(`    set $cutover_release ${proxying.variable};`);
  if (location.strip && location.prefix !== null)
    // On nginx's normalised path ($uri), re-escaped when sent: `/api/users?q` → `/users?q`, `/api` → `/`.
    out.push(`    rewrite "^${regexLiteral(location.prefix)}(?:/(.*))?$" /$1 break;`);
  out.push(
    // The state directory is the operator's path: a space or ; in it must not split the directive.
    `    access_log ${quotedPath(input.accessLogPath)} ${input.logFormat};`,
    '    proxy_pass http://$cutover_release;',
    // HTTP/1.1 with the Connection header cleared: what lets nginx keep upstream connections alive.
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection "";',
    // The headers the embedded proxy sets (forwarded-headers.ts): the client's Host kept, X-Forwarded-* and
    // X-Real-IP by the rule of server.trusted_proxies (render-nginx-config.ts), Forwarded only from a trusted peer.
    '    proxy_set_header Host $http_host;',
    '    proxy_set_header X-Forwarded-For $cutover_forwarded_for;',
    '    proxy_set_header X-Forwarded-Proto $cutover_forwarded_proto;',
    '    proxy_set_header X-Forwarded-Host $cutover_forwarded_host;',
    '    proxy_set_header X-Real-IP $cutover_real_ip;',
    '    proxy_set_header Forwarded $cutover_forwarded;',
    // nginx's default, written out: another instance is tried on a connect error or timeout, and
    // never for a non-idempotent request (POST, PATCH) that may have reached the first one.
    '    proxy_next_upstream error timeout;',
    ...instanceTimeoutLines(instanceTrafficOf(input.traffic, route.service)),
  );
  if (proxying.setCookieVariable !== null) out.push(`    add_header Set-Cookie ${proxying.setCookieVariable} always;`);
  if (route.tls?.hsts !== undefined && input.https !== null)
    out.push(`    add_header Strict-Transport-Security $${prefix}_hsts always;`);
  return out;
}

/**
 * A service's `timeouts`: `connect` is `proxy_connect_timeout`; nginx times
 * the response head and each gap in its body by one silence,
 * `proxy_read_timeout` (instanceSilenceMs).
 */
function instanceTimeoutLines(traffic: UpstreamTrafficConfig): string[] {
  return [
    `    proxy_connect_timeout ${durationText(traffic.connectTimeoutMs)};`,
    `    proxy_read_timeout ${durationText(instanceSilenceMs(traffic))};`,
  ];
}

/** The answers a block's locations hand over to: 421, 413, and each served service's maintenance pages. */
function answerLocations(routes: ServiceRoute[], input: ServersInput): string[] {
  const out: string[] = [];
  if (input.https !== null && routes.some((route) => !route.tls))
    out.push(
      '  location @cutover_misdirected {',
      '    access_log off;',
      '    default_type "application/json; charset=utf-8";',
      `    return 421 ${quoted(errorBody('MISDIRECTED_REQUEST', 'This host is not served over HTTPS here.'))};`,
      '  }',
    );
  if (routes.some((route) => (route.maxBodyBytes ?? null) !== null))
    out.push(
      '  location @cutover_too_large {',
      '    access_log off;',
      '    default_type "application/json; charset=utf-8";',
      `    return 413 ${quoted(errorBody('PAYLOAD_TOO_LARGE', 'The request body is larger than this service accepts.'))};`,
      '  }',
    );
  for (const route of routes) {
    if (!route.maintenance) continue;
    const retryAfter = route.maintenance.retryAfterSec;
    if (!Number.isInteger(retryAfter) || retryAfter < 0)
      throw new CutoverError(
        'CONFIG_INVALID',
        `service '${route.service}': Retry-After ${retryAfter} is not whole seconds`,
      );
    const files = maintenanceFiles(requireFilesDir(input), route.maintenance);
    for (const [type, file, contentType] of [
      ['html', files.html.path, 'text/html; charset=utf-8'],
      ['json', files.json.path, 'application/json; charset=utf-8'],
    ] as const) {
      out.push(
        `  location = ${MAINTENANCE_PATH}${variablePrefix(route.service)}.${type} {`,
        // Only reachable through error_page: a client asking for it directly gets 404.
        '    internal;',
        '    access_log off;',
        `    alias ${quotedPath(file)};`,
        '    types { }',
        `    default_type ${quoted(contentType)};`,
        `    add_header Retry-After ${retryAfter} always;`,
        '    add_header Cache-Control no-store always;',
        '    add_header X-Content-Type-Options nosniff always;',
        '    add_header X-Request-Id $request_id always;',
        '  }',
      );
    }
  }
  return out;
}

function requireFilesDir(input: ServersInput): string {
  if (input.filesDir === null)
    throw new CutoverError('INTERNAL', 'a route with a certificate or maintenance needs the directory for nginx files');
  return input.filesDir;
}

/** The embedded proxy's error shape, `{ "error": { code, message, hint } }`. */
export function errorBody(code: string, message: string, hint?: string): string {
  return JSON.stringify({ error: hint === undefined ? { code, message } : { code, message, hint } });
}

/** Text for a literal nginx string: no `$` (it would start a variable) and nothing outside printable ASCII. */
export function safeText(text: string): string {
  return text.replace(/[^\x20-\x7e]|\$/g, '_');
}
