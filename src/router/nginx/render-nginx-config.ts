import type { Cidr } from '../../config/cidr.js';
import type { UpstreamTrafficConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import { assertRoutesCompatible } from '../route-table.js';
import type { CanaryRoute, RouteTarget, ServiceRoute, Upstream } from '../index.js';
import {
  countText,
  DEFAULT_ROUTER_TRAFFIC,
  instanceTrafficOf,
  type RouterTrafficSettings,
} from '../router-traffic-settings.js';
import {
  assertCookieName,
  geoNetwork,
  headerVariable,
  quoted,
  regexLiteral,
  sanitizeName,
  upstreamName,
  variablePrefix,
} from './nginx-names.js';
import {
  acmeLocations,
  clientLimitLines,
  errorBody,
  PATH_RULE_LINES,
  renderEdgeMaps,
  renderServers,
  type Proxying,
  type ServersInput,
} from './render-nginx-servers.js';

/**
 * Renders the file cutover owns inside the team's `http {}` block: for each
 * service the upstreams of its releases, the maps and split that choose the
 * release of a request, and a server block; plus a control server that
 * answers the generation, which is how a reload is known to have taken effect.
 *
 * Pure: the same input gives the same text, byte for byte, and nothing here
 * touches a file or a process. Throws CONFIG_INVALID for routes the embedded
 * proxy would refuse too, and for names nginx cannot route on.
 */
export interface NginxRenderInput {
  routes: readonly ServiceRoute[];
  /** Upstream ids out of rotation. */
  unhealthy: ReadonlySet<string>;
  /** The address every service's server block listens on (cutover's, not one of the team's servers). */
  listen: { host: string; port: number };
  /** Answered at /.cutover/generation; unique per apply (letters, digits, `.`, `-`). */
  generation: string;
  /** Absolute path of the access log cutover reads its counters from. */
  accessLogPath: string;
  /** Idle keep-alive connections each nginx worker keeps per release (`keepalive N`). */
  keepalive: number;
  /** The TLS listener (`server.https`): the hosts with a certificate are served there by SNI, with HTTP/2. */
  https?: { host: string; port: number } | null;
  /** With `https`: plain requests for a name with a certificate get 308 to HTTPS (ACME challenges excepted). */
  redirectHttp?: boolean;
  /** Where the certificates and maintenance pages are written (nginx-edge-files.ts); needed once a route has either. */
  filesDir?: string | null;
  /** ACME HTTP-01 answers (token → key authorization), served for any host. */
  acmeHttp01?: Readonly<Record<string, string>>;
  /** `server.trusted_proxies`: the peers whose forwarding headers are believed (none by default). */
  trustedProxies?: readonly Cidr[];
  /** Client timeouts, and each service's instance timeouts and limits (cutover's defaults when absent). */
  traffic?: RouterTrafficSettings;
}

/** The Host the control server answers to; `.invalid` can never be a real site (RFC 2606). */
export const CONTROL_HOST = 'cutover-control.invalid';
export const GENERATION_PATH = '/.cutover/generation';
/** Finds the generation in the first line of a rendered file. */
export const GENERATION_LINE = /^# Written by cutover: .* Generation ([A-Za-z0-9.-]+)\.$/m;
export const LOG_FORMAT_NAME = 'cutover_v1';
/** Separator of the access log's fields: none of them can contain it. */
export const LOG_FIELD_SEPARATOR = '|';

export function renderNginxConfig(input: NginxRenderInput): string {
  assertRoutesCompatible(input.routes);
  if (!/^[A-Za-z0-9.-]+$/.test(input.generation))
    throw new RangeError(`generation '${input.generation}' is not a plain token`);
  const routes = [...input.routes].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const listen = listenAddress(input.listen);
  const https = input.https ?? null;
  if (https === null && routes.some((route) => route.tls))
    throw new CutoverError('CONFIG_INVALID', 'a service has a certificate, but the nginx router has no TLS listener', {
      hint: 'Set server.https: cutover renders an `ssl` listen there for the hosts with a certificate.',
    });
  const hasDefault = routes.some((route) => route.default);
  const out: string[] = [
    `# Written by cutover: every apply replaces this file (edits are lost). Generation ${input.generation}.`,
    '# Fields: time, release upstream, status, request time (s), upstream status, upstream header time (s).',
    'map $remote_addr $cutover_from_loopback { 127.0.0.1 1; ::1 1; default 0; }',
    ...renderForwardingMaps(input.trustedProxies ?? []),
    `log_format ${LOG_FORMAT_NAME} ${quoted(['$msec', '$cutover_release', '$status', '$request_time', '$upstream_status', '$upstream_header_time'].join(LOG_FIELD_SEPARATOR))};`,
  ];
  const proxying = new Map<string, Proxying | null>();
  for (const route of routes) {
    const service = renderService(route, input);
    proxying.set(route.service, service.proxying);
    out.push('', ...service.lines);
  }
  const servers: ServersInput = {
    routes,
    proxying,
    listen,
    https: https === null ? null : { address: listenAddress(https), port: https.port },
    redirectHttp: input.redirectHttp ?? false,
    filesDir: input.filesDir ?? null,
    accessLogPath: input.accessLogPath,
    logFormat: LOG_FORMAT_NAME,
    acmeHttp01: input.acmeHttp01 ?? {},
    generationLocation: generationLocation(input.generation),
    clientLimits: clientLimitLines(input.traffic ?? DEFAULT_ROUTER_TRAFFIC),
    clientAddress: clientAddressLines(input.trustedProxies ?? []),
    traffic: input.traffic ?? DEFAULT_ROUTER_TRAFFIC,
  };
  const maps = renderEdgeMaps(servers);
  if (maps.length > 0) out.push('', ...maps);
  out.push('', ...renderControlServer(servers, !hasDefault), ...renderServers(servers));
  return `${out.join('\n')}\n`;
}

/**
 * The forwarding headers a location sends (render-nginx-servers.ts), chosen
 * as the embedded proxy chooses them (forwarded-headers.ts): a peer in
 * `server.trusted_proxies` is a load balancer, so its X-Forwarded-For chain
 * is kept with the peer appended and its X-Forwarded-Proto/Host, X-Real-IP
 * and Forwarded pass; anyone else's are replaced by what nginx saw itself,
 * and its Forwarded is dropped (an empty value is not sent). Without this,
 * nginx appended to whatever X-Forwarded-For a client wrote and passed its
 * X-Real-IP and Forwarded untouched, so a backend believed a forged address.
 *
 * The peer is `$realip_remote_addr` once there are trusted proxies: then
 * `$remote_addr` is the client the balancer names (clientAddressLines), and
 * `$proxy_add_x_forwarded_for` would append that client instead of the peer.
 * Without them the realip module is not used at all (a build without it
 * keeps working), and the two are the same address.
 */
function renderForwardingMaps(trusted: readonly Cidr[]): string[] {
  const peer = trusted.length === 0 ? '$remote_addr' : '$realip_remote_addr';
  // A trusted peer's claim passes (followed by `append`); anyone else's, or none, is `otherwise`.
  const claimed = (header: string, variable: string, otherwise: string, append = ''): string => {
    const claim = `$cutover_${variable}_claim`;
    return `map "$cutover_trusted_peer:$http_${header}" $cutover_${variable} { "~^1:(?<cutover_${variable}_claim>.+)$" ${append === '' ? claim : `"${claim}${append}"`}; default ${otherwise}; }`;
  };
  return [
    `geo ${peer} $cutover_trusted_peer { default 0;${trusted.map((block) => ` ${geoNetwork(block.address, block.prefix)} 1;`).join('')} }`,
    claimed('x_forwarded_for', 'forwarded_for', peer, `, ${peer}`),
    claimed('x_forwarded_proto', 'forwarded_proto', '$scheme'),
    claimed('x_forwarded_host', 'forwarded_host', '$http_host'),
    claimed('x_real_ip', 'real_ip', peer),
    'map $cutover_trusted_peer $cutover_forwarded { 1 $http_forwarded; default ""; }',
  ];
}

/**
 * Behind trusted proxies, the client is the one their X-Forwarded-For names,
 * as on the embedded proxy (request-routing.ts clientAddressOf): nginx's
 * realip module makes it `$remote_addr`, which the canary's split by address
 * and the maintenance allow lists read. `real_ip_recursive` walks the chain
 * from the right past every trusted hop to the nearest untrusted one, as the
 * proxy does; a peer that is not trusted is never read (`set_real_ip_from`
 * lists only the configured blocks). Before, both went by the balancer's
 * address: every client landed on the canary side of that one address, and
 * an allow list could only let everyone behind the balancer in, or no one.
 * In each of cutover's server blocks, so the team's own servers are left as
 * they are.
 */
function clientAddressLines(trusted: readonly Cidr[]): string[] {
  if (trusted.length === 0) return [];
  return [
    ...trusted.map((block) => `  set_real_ip_from ${geoNetwork(block.address, block.prefix)};`),
    '  real_ip_header X-Forwarded-For;',
    '  real_ip_recursive on;',
  ];
}

/**
 * Answers the generation to loopback clients only. When no service is
 * `default`, it is also the default server of the plain address, so a
 * request for an unknown host gets cutover's 404 instead of whichever
 * service nginx happens to list first. It is always the default server of
 * the TLS address, where it refuses the handshake: like the proxy, nginx
 * then has no certificate for a name it was not given one for.
 */
function renderControlServer(servers: ServersInput, isDefault: boolean): string[] {
  const out = ['server {', `  listen ${servers.listen}${isDefault ? ' default_server' : ''};`];
  if (servers.https !== null)
    out.push(`  listen ${servers.https.address} ssl http2 default_server;`, '  ssl_reject_handshake on;');
  out.push(
    `  server_name ${CONTROL_HOST};`,
    ...servers.clientLimits,
    ...servers.clientAddress,
    ...PATH_RULE_LINES,
    '  access_log off;',
    ...servers.generationLocation,
    ...acmeLocations(servers),
    '  location / {',
    // Declares the variable the log format reads even when no service sets it (an empty config).
    '    set $cutover_release "";',
    '    default_type "application/json; charset=utf-8";',
    `    return 404 ${quoted(errorBody('SERVICE_NOT_FOUND', 'no service is routed for this host', "Add the host to a service's `hosts`, or mark one service `default: true`."))};`,
    '  }',
    '}',
  );
  return out;
}

/**
 * Loopback clients only. `allow`/`deny` cannot guard it: `return` answers in
 * the rewrite phase, before the access phase runs, so the check is a map.
 */
function generationLocation(generation: string): string[] {
  return [
    `  location = ${GENERATION_PATH} {`,
    '    access_log off;',
    '    default_type text/plain;',
    '    if ($cutover_from_loopback = 0) { return 403; }',
    `    return 200 "${generation}\\n";`,
    '  }',
  ];
}

/** A service's upstreams and the maps choosing its release; its locations are render-nginx-servers.ts's. */
function renderService(route: ServiceRoute, input: NginxRenderInput): { lines: string[]; proxying: Proxying | null } {
  const out: string[] = [`# service ${sanitizeName(route.service)}`];
  const canary = effectiveCanary(route);
  const stable = route.target;
  if (stable !== null) out.push(...renderUpstream(route.service, stable, input));
  if (canary !== null) out.push(...renderUpstream(route.service, canary.target, input));
  const choice = stable === null && canary === null ? null : renderChoice(route, stable, canary, input.unhealthy);
  if (choice === null) return { lines: out, proxying: null };
  out.push(...choice.lines);
  return { lines: out, proxying: { variable: choice.variable, setCookieVariable: choice.setCookieVariable } };
}

/** The canary as routed: none when it is the stable release itself (as in the embedded proxy's route table). */
function effectiveCanary(route: ServiceRoute): CanaryRoute | null {
  const canary = route.canary ?? null;
  if (canary === null || canary.target.releaseId === route.target?.releaseId) return null;
  return canary;
}

/**
 * One upstream block per release. An unhealthy instance is listed `down`.
 * When every instance is unhealthy they stay listed as they are: an empty
 * upstream is invalid, and all `down` would turn a health check that fails
 * everywhere (a shared dependency, a bad probe) into certain 502s, where
 * nginx's own passive checks (max_fails) can still find an instance that
 * answers.
 *
 * No `backup` servers: the other release of a blue-green pair is drained and
 * stopped right after a switch, and a backup would send requests there after
 * setRoute resolved, against the port's promise; a canary's weight must not
 * leak to the stable release through a backup either.
 */
function renderUpstream(service: string, target: RouteTarget, input: NginxRenderInput): string[] {
  const allDown = target.upstreams.length > 0 && target.upstreams.every((u) => input.unhealthy.has(u.id));
  const servers = target.upstreams.length > 0 ? target.upstreams : null;
  const lines = [`upstream ${upstreamName(service, target.releaseId)} {`];
  if (servers === null) {
    // A release without instances: a server nothing listens on (port 1 is tcpmux, never served here) keeps the block valid; requests get 502.
    lines.push('  server 127.0.0.1:1 down;');
  } else {
    const limits = serverLimits(instanceTrafficOf(input.traffic ?? DEFAULT_ROUTER_TRAFFIC, service));
    for (const upstream of servers) {
      const down = !allDown && input.unhealthy.has(upstream.id);
      lines.push(`  server ${serverAddress(upstream)} ${limits}${down ? ' down' : ''};`);
    }
  }
  lines.push(`  keepalive ${input.keepalive};`, '}');
  return lines;
}

/**
 * A service's `instance_limits.connections` is the server's `max_conns`, counted
 * by each nginx worker on its own (the upstream has no shared zone), and its
 * `passive_health` nginx's `max_fails` within `fail_timeout`, which is also how
 * long the instance is then left out: connect errors and timeouts count
 * (proxy_next_upstream), not 5xx answers, and there is no growing back-off.
 * `pending` has no nginx equivalent (its upstream queue is nginx Plus's).
 */
function serverLimits(traffic: UpstreamTrafficConfig): string {
  const health = traffic.passiveHealth;
  return [
    `max_conns=${countText(traffic.connectionsPerInstance)}`,
    `max_fails=${health.consecutiveFailures === 0 ? '0' : countText(health.consecutiveFailures)}`,
    // Whole seconds: nginx parses this parameter in seconds and refuses `ms`.
    `fail_timeout=${Math.max(1, Math.ceil(health.ejectionMs / 1000))}s`,
  ].join(' ');
}

interface Choice {
  lines: string[];
  /** The upstream name of the request's release, or the variable holding it. */
  variable: string;
  /** Variable holding a Set-Cookie value (empty when none is due), or null when stickiness is not by a cookie. */
  setCookieVariable: string | null;
}

/**
 * The variable naming the release of a request, mirroring canary-choice.ts:
 * a match rule hit → canary at any weight; weight 0 → stable; 100 → canary;
 * else `split_clients` on the client's sticky key puts the first `weight`
 * percent of the hash range on the canary. The ranges are ordered, so raising
 * the weight only grows the canary's range: clients only move from stable to
 * canary. (nginx hashes with MurmurHash2, the proxy with MurmurHash3: a
 * client may land on a different side when a team changes router, never
 * while one runs.)
 *
 * A canary with no healthy instance sends its share to the stable release,
 * as the embedded proxy does; without a stable release the canary answers.
 */
function renderChoice(
  route: ServiceRoute,
  stable: RouteTarget | null,
  canary: CanaryRoute | null,
  unhealthy: ReadonlySet<string>,
): Choice {
  const prefix = variablePrefix(route.service);
  const stableName = stable === null ? null : upstreamName(route.service, stable.releaseId);
  if (canary === null) {
    return { lines: [], variable: stableName as string, setCookieVariable: null };
  }
  const canaryName = upstreamName(route.service, canary.target.releaseId);
  const canaryServes = canary.target.upstreams.some((u) => !unhealthy.has(u.id));
  if (stableName === null || !canaryServes)
    return { lines: [], variable: stableName ?? canaryName, setCookieVariable: null };
  const lines: string[] = [];
  const matchVariable = renderMatchRules(canary, prefix, lines);
  const weight = canary.weight;
  let byWeight: string;
  let setCookieVariable: string | null = null;
  if (weight <= 0) byWeight = stableName;
  else if (weight >= 100) byWeight = canaryName;
  else {
    const keyVariable = renderStickyKey(canary, prefix, matchVariable, lines);
    setCookieVariable = keyVariable.setCookie;
    byWeight = `$${prefix}_split`;
    lines.push(
      `split_clients "${keyVariable.key}" ${byWeight} {`,
      `  ${formatPercent(weight)}% ${canaryName};`,
      `  * ${stableName};`,
      '}',
    );
  }
  if (matchVariable === null) return { lines, variable: byWeight, setCookieVariable };
  const variable = `$${prefix}_release`;
  lines.push(`map ${matchVariable} ${variable} {`, `  1 ${canaryName};`, `  default ${byWeight};`, '}');
  return { lines, variable, setCookieVariable };
}

/** `$prefix_match` is `1` when any match rule hits; null when there are no rules. */
function renderMatchRules(canary: CanaryRoute, prefix: string, lines: string[]): string | null {
  if (canary.match.length === 0) return null;
  const ruleVariables: string[] = [];
  canary.match.forEach((rule, index) => {
    const variable = `$${prefix}_match${index}`;
    ruleVariables.push(variable);
    if (rule.header !== undefined && rule.header.length > 0) {
      // A regex, not a plain key: map's string keys compare without case, the proxy compares values exactly.
      lines.push(
        `map ${headerVariable(rule.header)} ${variable} {`,
        `  "~^${regexLiteral(rule.value)}$" 1;`,
        '  default "";',
        '}',
      );
    } else {
      const cookie = rule.cookie ?? '';
      assertCookieName(cookie);
      lines.push(
        `map $http_cookie ${variable} {`,
        `  "~(^|;)\\s*${regexLiteral(cookie)}=${regexLiteral(rule.value)}\\s*(;|$)" 1;`,
        '  default "";',
        '}',
      );
    }
  });
  const variable = `$${prefix}_match`;
  lines.push(`map "${ruleVariables.join('')}" ${variable} {`, '  "" "";', '  default 1;', '}');
  return variable;
}

/**
 * The client's key for split_clients. By cookie: the cookie's value, or when
 * it is missing `$request_id` (128 random bits nginx makes per request), which
 * the response then sets as that cookie, so the client keeps its side; as in
 * the proxy, no cookie is set on a request a match rule sent to the canary.
 * By header: its value, or the client address when it is missing. By ip: the
 * socket's address (X-Forwarded-For is written by clients).
 */
function renderStickyKey(
  canary: CanaryRoute,
  prefix: string,
  matchVariable: string | null,
  lines: string[],
): { key: string; setCookie: string | null } {
  const key = `$${prefix}_key`;
  const { by, name } = canary.stickiness;
  if (by === 'ip') return { key: '$remote_addr', setCookie: null };
  if (by === 'header') {
    const header = headerVariable(name);
    lines.push(`map ${header} ${key} {`, '  "" $remote_addr;', `  default ${header};`, '}');
    return { key, setCookie: null };
  }
  assertCookieName(name);
  const cookie = `$${prefix}_cookie`;
  lines.push(
    // Case-sensitive like the proxy (nginx's $cookie_NAME ignores case); the first cookie of that name wins.
    `map $http_cookie ${cookie} {`,
    `  "~(?:^|;)\\s*${regexLiteral(name)}=([^;\\s]+)" $1;`,
    '  default "";',
    '}',
    `map ${cookie} ${key} {`,
    '  "" $request_id;',
    `  default ${cookie};`,
    '}',
  );
  const setCookie = `$${prefix}_set_cookie`;
  lines.push(
    `map "${matchVariable ?? ''}${cookie}" ${setCookie} {`,
    `  "" "${name}=$request_id; Path=/; HttpOnly; SameSite=Lax";`,
    '  default "";',
    '}',
  );
  return { key, setCookie };
}

/** split_clients takes up to two decimals. */
function formatPercent(weight: number): string {
  return String(Math.round(weight * 100) / 100);
}

function listenAddress(listen: { host: string; port: number }): string {
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

function serverAddress(upstream: Upstream): string {
  if (
    !/^[A-Za-z0-9.:_-]+$/.test(upstream.host) ||
    !Number.isInteger(upstream.port) ||
    upstream.port < 1 ||
    upstream.port > 65535
  ) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `upstream '${upstream.id}' has an address nginx cannot use: ${upstream.host}:${upstream.port}`,
    );
  }
  return upstream.host.includes(':') ? `[${upstream.host}]:${upstream.port}` : `${upstream.host}:${upstream.port}`;
}
