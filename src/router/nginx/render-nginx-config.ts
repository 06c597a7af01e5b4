import { CutoverError } from '../../core/errors.js';
import { assertRoutesCompatible, normalizeHost } from '../route-table.js';
import type { CanaryRoute, RouteTarget, ServiceRoute, Upstream } from '../index.js';
import {
  assertCookieName,
  assertHostName,
  headerVariable,
  quoted,
  regexLiteral,
  sanitizeName,
  upstreamName,
  variablePrefix,
} from './nginx-names.js';

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
  const hasDefault = routes.some((route) => route.default);
  const out: string[] = [
    `# Written by cutover: every apply replaces this file (edits are lost). Generation ${input.generation}.`,
    '# Fields: time, release upstream, status, request time (s), upstream status, upstream header time (s).',
    'map $remote_addr $cutover_from_loopback { 127.0.0.1 1; ::1 1; default 0; }',
    `log_format ${LOG_FORMAT_NAME} ${quoted(['$msec', '$cutover_release', '$status', '$request_time', '$upstream_status', '$upstream_header_time'].join(LOG_FIELD_SEPARATOR))};`,
    '',
    ...renderControlServer(listen, input.generation, !hasDefault),
  ];
  for (const route of routes) out.push('', ...renderService(route, input, listen));
  return `${out.join('\n')}\n`;
}

/**
 * Answers the generation to loopback clients only. When no service is
 * `default`, it is also the default server of the address, so a request for
 * an unknown host gets cutover's 404 instead of whichever service nginx
 * happens to list first.
 */
function renderControlServer(listen: string, generation: string, isDefault: boolean): string[] {
  return [
    'server {',
    `  listen ${listen}${isDefault ? ' default_server' : ''};`,
    `  server_name ${CONTROL_HOST};`,
    '  access_log off;',
    ...generationLocation(generation),
    '  location / {',
    // Declares the variable the log format reads even when no service sets it (an empty config).
    '    set $cutover_release "";',
    '    default_type "application/json; charset=utf-8";',
    `    return 404 ${quoted(errorBody('SERVICE_NOT_FOUND', 'no service is routed for this host', "Add the host to a service's `hosts`, or mark one service `default: true`."))};`,
    '  }',
    '}',
  ];
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

function renderService(route: ServiceRoute, input: NginxRenderInput, listen: string): string[] {
  // As the proxy's route table does: `Web.test:8080` routes `web.test` (a port is not part of server_name).
  const hosts = [...new Set(route.hosts.map(normalizeHost))];
  for (const host of hosts) assertHostName(host);
  const out: string[] = [`# service ${sanitizeName(route.service)}`];
  const canary = effectiveCanary(route);
  const stable = route.target;
  if (stable !== null) out.push(...renderUpstream(route.service, stable, input));
  if (canary !== null) out.push(...renderUpstream(route.service, canary.target, input));
  const choice = stable === null && canary === null ? null : renderChoice(route, stable, canary, input.unhealthy);
  if (choice !== null) out.push(...choice.lines);
  out.push('server {', `  listen ${listen}${route.default ? ' default_server' : ''};`);
  if (hosts.length > 0) out.push(`  server_name ${hosts.join(' ')};`);
  out.push(...generationLocation(input.generation), '  location / {');
  if (choice === null) {
    out.push(
      '    access_log off;',
      '    default_type "application/json; charset=utf-8";',
      `    return 503 ${quoted(errorBody('NO_UPSTREAM', `service '${safeText(route.service)}' has no release routed yet`, 'No healthy instance is routed for this host.'))};`,
    );
  } else {
    out.push(
      `    set $cutover_release ${choice.variable};`,
      `    access_log ${input.accessLogPath} ${LOG_FORMAT_NAME};`,
      '    proxy_pass http://$cutover_release;',
      // HTTP/1.1 with the Connection header cleared: what lets nginx keep upstream connections alive.
      '    proxy_http_version 1.1;',
      '    proxy_set_header Connection "";',
      // The headers the embedded proxy sets (forwarded-headers.ts): the client's Host kept, X-Forwarded-* appended or set.
      '    proxy_set_header Host $http_host;',
      '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '    proxy_set_header X-Forwarded-Proto $scheme;',
      '    proxy_set_header X-Forwarded-Host $http_host;',
      // nginx's default, written out: another instance is tried on a connect error or timeout, and
      // never for a non-idempotent request (POST, PATCH) that may have reached the first one.
      '    proxy_next_upstream error timeout;',
    );
    if (choice.setCookieVariable !== null) out.push(`    add_header Set-Cookie ${choice.setCookieVariable} always;`);
  }
  out.push('  }', '}');
  return out;
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
    for (const upstream of servers) {
      const down = !allDown && input.unhealthy.has(upstream.id);
      lines.push(`  server ${serverAddress(upstream)}${down ? ' down' : ''};`);
    }
  }
  lines.push(`  keepalive ${input.keepalive};`, '}');
  return lines;
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

/** The embedded proxy's error shape, `{ "error": { code, message, hint } }`. */
function errorBody(code: string, message: string, hint: string): string {
  return JSON.stringify({ error: { code, message, hint } });
}

/** Text for a literal nginx string: no `$` (it would start a variable) and nothing outside printable ASCII. */
function safeText(text: string): string {
  return text.replace(/[^\x20-\x7e]|\$/g, '_');
}
