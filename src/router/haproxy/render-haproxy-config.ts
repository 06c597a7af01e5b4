import type { Cidr } from '../../config/cidr.js';
import { BUCKET_COUNT } from '../../core/sticky-bucket.js';
import type { CanaryRoute } from '../index.js';
import {
  assertCookieName,
  assertHeaderName,
  assertHostName,
  assertMatchValue,
  assertPath,
  backendName,
  bindAddress,
  serviceKey,
  SLOTS_PER_SERVICE,
} from './haproxy-names.js';
import {
  countText,
  DEFAULT_ROUTER_TRAFFIC,
  durationText,
  instanceSilenceMs,
  instanceTrafficOf,
  type RouterTrafficSettings,
} from '../router-traffic-settings.js';
import { REQUEST_LOG_FORMAT, REQUEST_LOG_MAX_LINE, REQUEST_LOG_RING } from './request-log-line.js';

/**
 * Renders the haproxy.cfg cutover owns, and the two map files it reads at
 * start. What changes with a deploy is not in the config text but in the
 * Runtime API's reach (haproxy-router.ts): servers are added, drained and
 * deleted, and the maps' values are set, with no reload. The config holds
 * what only a reload can change: the listen address, the services (their
 * backends and the ACLs that read a client's sticky key and match rules),
 * and the default service.
 *
 * A request is routed in the frontend:
 * 1. the Host header (lower case, port dropped) is looked up in hosts.map → the service's key, or the default
 *    service's, or 404;
 * 2. the key is looked up in routes.map → `<stable backend>:<canary backend>:<threshold>`;
 * 3. a service with a canary shape reads the client's key (cookie, header or source address), hashes
 *    `service:key` (xxh32) into 10,000 buckets and sends it to the canary backend when its bucket is below
 *    the threshold (weight × 100), or when a match rule hits: raising the threshold only moves clients from
 *    stable to canary. One `set map` changes stable, canary and weight together, atomically.
 *
 * Pure: the same input gives the same text, and nothing here touches a file or a process.
 */
export interface HaproxyServiceConfig {
  service: string;
  hosts: readonly string[];
  isDefault: boolean;
  /** Who a client is and which requests always go to the canary; null for a service that never had a canary. */
  shape: CanaryShape | null;
  /** The routes.map value (see routeValue). */
  route: string;
  /** Servers by slot (index 0 to SLOTS_PER_SERVICE - 1). */
  servers: readonly (readonly HaproxyServerConfig[])[];
}

export interface CanaryShape {
  stickiness: CanaryRoute['stickiness'];
  match: CanaryRoute['match'];
}

export interface HaproxyServerConfig {
  name: string;
  /** `host:port` (haproxy-names.ts serverAddress). */
  address: string;
  enabled: boolean;
}

export interface HaproxyRenderInput {
  listen: { host: string; port: number };
  /** The stats socket (Runtime API), owner-only. */
  socketPath: string;
  /** Where the serving worker takes the requests a stopping one hands over (renderHandoffRules), owner-only. */
  handoffSocketPath: string;
  hostsMapPath: string;
  routesMapPath: string;
  /** Shown by `show info` as the description: how a reload is known to have taken effect (letters, digits, `.`, `-`). */
  generation: string;
  services: readonly HaproxyServiceConfig[];
  /** Worker threads (default 1). */
  threads?: number;
  /** How long an old worker may finish its requests after a reload, in seconds (default 300). */
  hardStopAfterS?: number;
  /** Bytes of the request log ring (default 1 MiB, some 15,000 lines): what a restarting cutover can read back. */
  requestLogBytes?: number;
  /** `server.trusted_proxies`: the peers whose forwarding headers are believed (none by default). */
  trustedProxies?: readonly Cidr[];
  /** Client timeouts and limits, and each service's instance timeouts and limits (cutover's defaults when absent). */
  traffic?: RouterTrafficSettings;
}

export interface RenderedHaproxy {
  config: string;
  hostsMap: string;
  routesMap: string;
}

/** The backend answering 503 for a service without a release routed. */
export const UNROUTED_BACKEND = 'cutover_unrouted';

/** The backend through which a stopping worker hands a request to the serving one (renderHandoffRules). */
export const HANDOFF_BACKEND = 'cutover_handoff';

/**
 * A reload starts a new worker and soft-stops the old one, which by default
 * closes its idle kept-alive connections at once: a client that sends its
 * next request just then loses it. With `idle-close-on-response` the old
 * worker keeps them open until their next request and closes each after
 * answering it (`Connection: close`). But it would route that request by the
 * maps and servers it had, which no setRoute since reaches (neither the
 * reload's own route nor a switch at runtime after it), and setRoute promises
 * that once it resolves no new request goes to the release it moved from.
 * So a stopping worker routes nothing itself: its first rule ends the
 * frontend's rules (no header rewritten, no Set-Cookie, no 404 for a host it
 * does not know), and the request goes on as it came, with the client's
 * address in a PROXY header, to the handoff socket. Only the serving worker
 * listens there (a reload hands every listener to the new worker), and
 * routes, rewrites and logs it as any other. `option forwardfor` is in the
 * service backends, not the frontend, so the stopping worker adds no
 * X-Forwarded-For that the serving one adds again.
 *
 * The master signals the old worker (SIGUSR1) before it forks the new one, so
 * by the time the new worker answers `show info` with its generation, which
 * is when a reload resolves, the old one is stopping.
 */
function renderHandoffRules(): string[] {
  return [
    '  option idle-close-on-response',
    '  http-request set-var(txn.cutover_handoff) bool(1) if { stopping }',
    '  http-request allow if { var(txn.cutover_handoff) -m bool }',
  ];
}

/**
 * The forwarding headers, as the embedded proxy sets them (forwarded-headers.ts):
 * a peer in `server.trusted_proxies` is a load balancer, so its X-Forwarded-For
 * is kept (`option forwardfor` appends the peer) and its X-Forwarded-Proto/Host,
 * X-Real-IP and Forwarded pass; anyone else's are removed and replaced by what
 * HAProxy saw itself (Forwarded is dropped). Before, a client's X-Forwarded-For
 * came first and its X-Real-IP and Forwarded passed untouched, so a backend
 * believed a forged address.
 */
function renderForwardingRules(trusted: readonly Cidr[]): string[] {
  const peers = trusted.map((block) => cidrText(block));
  const unlessTrusted = (header: string): string => `unless cutover_trusted_peer { req.hdr(${header}) -m found }`;
  return [
    peers.length === 0
      ? '  acl cutover_trusted_peer always_false'
      : `  acl cutover_trusted_peer src ${peers.join(' ')}`,
    '  http-request del-header X-Forwarded-For unless cutover_trusted_peer',
    '  http-request del-header Forwarded unless cutover_trusted_peer',
    // The same names spelt with `_`, from anyone: CGI-style backends read them as the hyphenated ones.
    '  http-request del-header ^(x_forwarded[-_]|x-forwarded_)(for|proto|host)$|^(x_real[-_]|x-real_)ip$ -m reg',
    `  http-request set-header X-Forwarded-Proto http ${unlessTrusted('x-forwarded-proto')}`,
    `  http-request set-header X-Forwarded-Host %[req.fhdr(host)] ${unlessTrusted('x-forwarded-host')}`,
    `  http-request set-header X-Real-IP %[src] ${unlessTrusted('x-real-ip')}`,
  ];
}

/** Trusted hops of X-Forwarded-For walked past at most (renderClientAddress); a chain of more is rare. */
export const TRUSTED_HOPS_WALKED = 8;

/**
 * The client a canary assigns by address (`txn.cutover_client`): the source
 * address, or behind a peer in `server.trusted_proxies` the nearest address
 * of its X-Forwarded-For that is not itself trusted, walked from the right,
 * as the embedded proxy finds it (request-routing.ts clientAddressOf) and
 * nginx's realip module does. Before, HAProxy used the source: the balancer,
 * so every client behind it landed on the one side of that address.
 *
 * HAProxy has no loop: the walk is unrolled over TRUSTED_HOPS_WALKED hops,
 * each step taken only while every hop to its right was a trusted address
 * (an address, as `req.hdr_ip` reads one, the port of `a.b.c.d:port`
 * dropped; a hop that is none ends the walk, as in nginx). `src` itself,
 * `option forwardfor` and X-Real-IP are left alone: the backend is still told
 * which peer connected.
 */
function renderClientAddress(trusted: readonly Cidr[]): string[] {
  const out = ['  http-request set-var(txn.cutover_client) src'];
  if (trusted.length === 0) return out;
  const peers = trusted.map((block) => cidrText(block)).join(' ');
  const hop = (n: number): string => `req.hdr_ip(x-forwarded-for,-${n})`;
  const walkedPast: string[] = [];
  for (let n = 1; n <= TRUSTED_HOPS_WALKED; n++) {
    out.push(
      `  http-request set-var(txn.cutover_client) ${hop(n)} if cutover_trusted_peer${walkedPast.map((acl) => ` ${acl}`).join('')} { ${hop(n)} -m found }`,
    );
    if (n === TRUSTED_HOPS_WALKED) break;
    const acl = `cutover_hop${n}_trusted`;
    out.push(`  acl ${acl} ${hop(n)} ${peers}`);
    walkedPast.push(acl);
  }
  return out;
}

/**
 * The Host header as the hosts.map key, as route-table.ts's normalizeHost:
 * lower case, without the port, and without the trailing dot of a fully
 * qualified name (`shop.test.` is `shop.test`, as nginx and the embedded
 * proxy route it; before, it fell to the default service).
 */
const HOST_KEY = 'req.fhdr(host),lower,regsub(:[0-9]+$,),regsub([.]$,)';

/**
 * A Host that is no `host[:port]` gets 400 (RFC 9112 §3.2), as on the
 * embedded proxy (host-header.ts, the same rule) and nginx: HAProxy refuses
 * two Host lines that differ by itself, but routed any value and passed it on.
 * Written for single quotes in the config (`\x27` is the quote).
 */
const HOST_LABEL = '([0-9A-Za-z_~!$&\\x27()*+,;=-]|%[0-9A-Fa-f]{2})+';
const VALID_HOST = `^(\\[[0-9A-Za-z._~!$&\\x27()*+,;=:%-]+\\]|${HOST_LABEL}(\\.${HOST_LABEL})*\\.?)(:[0-9]*)?$`;

/**
 * What the config holds of the router's own settings, which the Runtime API
 * cannot change: saved with the routing state, so an adopting run knows
 * whether the running HAProxy has its settings without comparing the config
 * text (whose server lines the Runtime API has moved on from since).
 */
export function settingsFingerprint(input: {
  threads?: number;
  trustedProxies?: readonly Cidr[];
  traffic?: RouterTrafficSettings;
}): string {
  const traffic = input.traffic ?? DEFAULT_ROUTER_TRAFFIC;
  return JSON.stringify({
    nbthread: input.threads ?? 1,
    forwarding: renderForwardingRules(input.trustedProxies ?? []),
    client: renderClientAddress(input.trustedProxies ?? []),
    clients: renderClientLimits(traffic),
    services: Object.keys(traffic.services)
      .sort()
      .map((service) => [service, renderInstanceTimeouts(traffic, service), serverLimits(traffic, service)]),
    // How a Host header finds its service: an HAProxy adopted from a cutover that read it otherwise is reloaded.
    hostKey: HOST_KEY,
    hostCheck: VALID_HOST,
    // What a reload does with kept-alive connections: one whose worker would close them is reloaded to hand them over.
    handoff: renderHandoffRules(),
  });
}

/**
 * `server.client_timeouts` and `max_connections`: `headers` is HAProxy's
 * `timeout http-request` (the whole head, as the embedded proxy times it) and
 * `keep_alive` its `timeout http-keep-alive`. `max_connections` is the
 * frontend's `maxconn` (the process-wide one stays HAProxy's, derived from
 * its file descriptor limit): past it HAProxy stops accepting, so a new
 * connection waits in the kernel's backlog instead of being closed at once as
 * the embedded proxy does. The whole-request `request` limit has no HAProxy
 * equivalent (`timeout client` is a silence, kept at 60 s).
 */
function renderClientLimits(traffic: RouterTrafficSettings): string[] {
  return [
    `  timeout http-request ${durationText(traffic.clientHeadersTimeoutMs)}`,
    `  timeout http-keep-alive ${durationText(traffic.clientKeepAliveTimeoutMs)}`,
  ];
}

/** A service's `timeouts`, in its backends: `connect`, and one silence for the head and the body (instanceSilenceMs). */
function renderInstanceTimeouts(traffic: RouterTrafficSettings, service: string): string[] {
  const policy = instanceTrafficOf(traffic, service);
  return [
    `  timeout connect ${durationText(policy.connectTimeoutMs)}`,
    `  timeout server ${durationText(instanceSilenceMs(policy))}`,
  ];
}

/**
 * A service's `instance_limits`, on each of its servers (and on `add server`,
 * haproxy-router.ts): `connections` is the server's `maxconn` and `pending` its
 * `maxqueue`. HAProxy reads `maxqueue 0` as no limit, so `pending: 0` (no
 * waiting) is rendered as 1. A request left queued past `timeout queue` (the
 * connect timeout) gets 503, where the embedded proxy answers 503 at once.
 * `passive_health` is not rendered: HAProxy's own observe/error-limit needs
 * its health checks, which cutover runs itself.
 */
export function serverLimits(traffic: RouterTrafficSettings, service: string): string[] {
  const policy = instanceTrafficOf(traffic, service);
  return [
    'maxconn',
    countText(policy.connectionsPerInstance),
    'maxqueue',
    countText(Math.max(1, policy.pendingPerInstance)),
  ];
}

/** A CIDR block as HAProxy's `src` takes it; the config parser (cidr.ts) already refused anything else. */
function cidrText(block: Cidr): string {
  if (!/^[0-9A-Fa-f:.]+$/.test(block.address) || !Number.isInteger(block.prefix))
    throw new RangeError(`trusted proxy '${block.address}/${block.prefix}' is not a plain address block`);
  return `${block.address}/${block.prefix}`;
}

/** A routes.map value: requests go to `stable`, clients under the threshold (and matches) to `canary`. */
export function routeValue(stable: string | null, canary: string | null, weightPercent: number): string {
  const first = stable ?? canary ?? UNROUTED_BACKEND;
  const second = canary ?? first;
  const threshold = canary === null ? 0 : Math.round(Math.min(100, Math.max(0, weightPercent)) * (BUCKET_COUNT / 100));
  return `${first}:${second}:${threshold}`;
}

export function renderHaproxyConfig(input: HaproxyRenderInput): RenderedHaproxy {
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(input.generation))
    throw new RangeError(`generation '${input.generation}' is not a plain token`);
  for (const file of [input.socketPath, input.handoffSocketPath, input.hostsMapPath, input.routesMapPath])
    assertPath(file);
  const services = [...input.services].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const defaultService = services.find((service) => service.isDefault);
  const traffic = input.traffic ?? DEFAULT_ROUTER_TRAFFIC;
  const hostLines: string[] = [];
  const routeLines: string[] = [];
  for (const service of services) {
    const key = serviceKey(service.service);
    for (const host of service.hosts) {
      assertHostName(host);
      hostLines.push(`${host} ${key}`);
    }
    assertRouteValue(service.route);
    routeLines.push(`${key} ${service.route}`);
  }
  const lines = [
    `# Written by cutover: every reload replaces this file (edits are lost). Generation ${input.generation}.`,
    'global',
    '  master-worker',
    `  stats socket ${input.socketPath} mode 600 level admin expose-fd listeners`,
    `  nbthread ${input.threads ?? 1}`,
    `  hard-stop-after ${input.hardStopAfterS ?? 300}s`,
    `  description ${input.generation}`,
    // cutover follows the request log on one long-lived CLI connection (request-log-stream.ts); the default 10 s
    // would close it whenever no request came for 10 s. Its one-shot commands have their own timeout.
    '  stats timeout 24h',
    '',
    // One line per request (request-log-line.ts), in memory: the latencies of each release.
    `ring ${REQUEST_LOG_RING}`,
    '  format raw',
    `  maxlen ${REQUEST_LOG_MAX_LINE}`,
    `  size ${Math.max(65_536, Math.floor(input.requestLogBytes ?? 1_048_576))}`,
    '',
    'defaults',
    '  mode http',
    '  option redispatch',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...renderClientLimits(traffic),
    // Upgraded connections (WebSocket) may idle long; a drain closes them.
    '  timeout tunnel 1h',
    '',
    'frontend cutover',
    `  bind ${bindAddress(input.listen)}`,
    `  maxconn ${countText(traffic.maxConnections)}`,
    `  log ring@${REQUEST_LOG_RING} len ${REQUEST_LOG_MAX_LINE} format raw local0 info`,
    `  log-format "${REQUEST_LOG_FORMAT}"`,
    `  bind unix@${input.handoffSocketPath} mode 600 accept-proxy`,
    ...renderHandoffRules(),
    ...renderForwardingRules(input.trustedProxies ?? []),
    ...renderClientAddress(input.trustedProxies ?? []),
    `  http-request return status 400 content-type "application/json; charset=utf-8" string '${errorBody('BAD_REQUEST', 'the Host header is malformed')}' if { req.fhdr(host) -m found } !{ req.fhdr(host) -m reg '${VALID_HOST}' }`,
    `  http-request set-var(txn.cutover_svc) ${HOST_KEY},map_str(${input.hostsMapPath}${defaultService === undefined ? '' : `,${serviceKey(defaultService.service)}`})`,
    ...(defaultService === undefined
      ? []
      : [
          `  http-request set-var(txn.cutover_svc) str(${serviceKey(defaultService.service)}) unless { req.fhdr(host) -m found }`,
        ]),
    `  http-request return status 404 content-type "application/json; charset=utf-8" string '${errorBody('SERVICE_NOT_FOUND', 'no service is routed for this host')}' unless { var(txn.cutover_svc) -m found }`,
    `  http-request set-var(txn.cutover_route) var(txn.cutover_svc),map_str(${input.routesMapPath})`,
  ];
  for (const service of services)
    if (service.shape !== null) lines.push(...renderShape(service.service, service.shape));
  lines.push(
    '  http-request set-var(txn.cutover_bucket) var(txn.cutover_svc),concat(:,txn.cutover_key),xxh32,mod(10000) if { var(txn.cutover_key) -m found }',
    '  http-request set-var(txn.cutover_threshold) var(txn.cutover_route),field(3,:)',
    '  http-request set-var(txn.cutover_diff) var(txn.cutover_bucket),sub(txn.cutover_threshold) if { var(txn.cutover_bucket) -m found }',
    '  http-request set-var(txn.cutover_backend) var(txn.cutover_route),field(1,:)',
    '  http-request set-var(txn.cutover_backend) var(txn.cutover_route),field(2,:) if { var(txn.cutover_diff) -m int lt 0 } || { var(txn.cutover_match) -m bool }',
    // A client given a new sticky id keeps it; not when a match rule chose its side (as the embedded proxy does).
    '  http-response add-header Set-Cookie "%[var(txn.cutover_cookie)]=%[var(txn.cutover_newkey)]; Path=/; HttpOnly; SameSite=Lax" if { var(txn.cutover_newkey) -m found } { var(txn.cutover_cookie) -m found } !{ var(txn.cutover_match) -m bool }',
    `  use_backend ${HANDOFF_BACKEND} if { var(txn.cutover_handoff) -m bool }`,
    '  use_backend %[var(txn.cutover_backend)]',
    '',
    `backend ${HANDOFF_BACKEND}`,
    // Past hard-stop-after the stopping worker is gone anyway; the serving one times the instance out itself.
    `  timeout server ${input.hardStopAfterS ?? 300}s`,
    `  server next unix@${input.handoffSocketPath} send-proxy-v2`,
    '',
    `backend ${UNROUTED_BACKEND}`,
    `  http-request return status 503 content-type "application/json; charset=utf-8" string '${errorBody('NO_UPSTREAM', 'the service has no release routed yet')}'`,
  );
  for (const service of services) {
    for (let slot = 0; slot < SLOTS_PER_SERVICE; slot++) {
      lines.push(
        '',
        `backend ${backendName(service.service, slot)}`,
        '  balance roundrobin',
        '  option forwardfor',
        ...renderInstanceTimeouts(traffic, service.service),
      );
      const limits = serverLimits(traffic, service.service).join(' ');
      for (const server of service.servers[slot] ?? []) {
        if (!/^[a-z0-9_]+$/.test(server.name) || !/^[A-Za-z0-9.:_[\]-]+$/.test(server.address))
          throw new RangeError(`server '${server.name}' ${server.address} is not a rendered name and address`);
        lines.push(`  server ${server.name} ${server.address} ${limits}${server.enabled ? '' : ' disabled'}`);
      }
    }
  }
  return {
    config: `${lines.join('\n')}\n`,
    hostsMap: hostLines.length === 0 ? '' : `${hostLines.join('\n')}\n`,
    routesMap: routeLines.length === 0 ? '' : `${routeLines.join('\n')}\n`,
  };
}

/** A value cutover made (routeValue) and nothing else: backend names and a number. */
export function assertRouteValue(value: string): void {
  if (!/^[a-z0-9_]+:[a-z0-9_]+:[0-9]{1,5}$/.test(value))
    throw new RangeError(`route value '${value}' is not one cutover makes`);
}

/**
 * The per-service lines: the client's sticky key and the match rules, for
 * requests of this service only. By cookie: its value, or a new random id
 * (uuid) that the response sets; by header: its value, or the client address
 * when missing; by ip: the client address (renderClientAddress: a client's own
 * X-Forwarded-For is read only through a trusted balancer).
 */
function renderShape(service: string, shape: CanaryShape): string[] {
  const key = serviceKey(service);
  const is = `cutover_is_${key}`;
  const out = [`  # service ${key}`, `  acl ${is} var(txn.cutover_svc) -m str ${key}`];
  const { by, name } = shape.stickiness;
  if (by === 'cookie') {
    assertCookieName(name);
    out.push(
      `  http-request set-var(txn.cutover_key) req.cook(${name}) if ${is}`,
      `  http-request set-var(txn.cutover_newkey) uuid if ${is} !{ var(txn.cutover_key) -m found }`,
      `  http-request set-var(txn.cutover_cookie) str(${name}) if ${is} { var(txn.cutover_newkey) -m found }`,
      `  http-request set-var(txn.cutover_key) var(txn.cutover_newkey) if ${is} { var(txn.cutover_newkey) -m found }`,
    );
  } else if (by === 'header') {
    assertHeaderName(name);
    out.push(
      `  http-request set-var(txn.cutover_key) req.fhdr(${name}) if ${is}`,
      `  http-request set-var(txn.cutover_key) var(txn.cutover_client) if ${is} !{ var(txn.cutover_key) -m found }`,
    );
  } else {
    out.push(`  http-request set-var(txn.cutover_key) var(txn.cutover_client) if ${is}`);
  }
  for (const rule of shape.match) {
    assertMatchValue(rule.value);
    let fetch: string;
    if (rule.header !== undefined && rule.header.length > 0) {
      assertHeaderName(rule.header);
      fetch = `req.fhdr(${rule.header})`;
    } else {
      const cookie = rule.cookie ?? '';
      assertCookieName(cookie);
      fetch = `req.cook(${cookie})`;
    }
    out.push(`  http-request set-var(txn.cutover_match) bool(1) if ${is} { ${fetch} -m str '${rule.value}' }`);
  }
  return out;
}

/** The embedded proxy's error shape; only cutover's own words, so no quote can appear. */
function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
