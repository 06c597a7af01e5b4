import { composeNumber, hostsFromRule, routableHost } from './compose-values.js';
import type { ImportEntry, ImportNote, ServiceContext } from './compose-import-types.js';
import { asMap, isMap, shown, type Map } from './compose-import-types.js';

/** Where a service's traffic comes from: its ports, and the host names in its routing labels. */

export function labelsOf(value: unknown): [string, string][] {
  if (Array.isArray(value))
    return value.map((item) => {
      const text = shown(item);
      const eq = text.indexOf('=');
      return eq === -1 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
    });
  return Object.entries(asMap(value)).map(([key, item]) => [key, item === null ? '' : shown(item)]);
}

export interface PathRoute {
  host: string;
  path_prefix: string;
}

/**
 * Where a service's users come from: host names (nginx-proxy's VIRTUAL_HOST,
 * Traefik's Host rules) and, for a Traefik rule with one PathPrefix under its
 * hosts (web at `/`, api at `/api` on one host, the usual split), cutover's
 * path routes. `taken` holds what earlier services claimed: cutover routes a
 * host, or a host and prefix, to one service, so a repeat is noted, not written.
 */
export function routingOf(
  service: Map,
  fromEnv: string[],
  at: string,
  notes: ImportNote[],
  taken: globalThis.Map<string, string>,
  name: string,
): { hosts: string[]; routes: PathRoute[] } {
  const found: { text: string; prefix: string | null; place: string }[] = fromEnv.map((text) => ({
    text,
    prefix: null,
    place: `${at}.environment.VIRTUAL_HOST`,
  }));
  for (const [key, value] of labelsOf(service.labels)) {
    if (!/^traefik\.http\.routers\..*\.rule$/.test(key)) continue;
    const prefixes = [...value.matchAll(/PathPrefix\s*\(\s*[`'"]([^`'"]+)[`'"]\s*\)/g)].map((m) => m[1] as string);
    const prefix = prefixes.length === 1 && prefixes[0] !== '/' ? (prefixes[0] as string).replace(/\/+$/, '') : null;
    if (prefixes.length > 1)
      notes.push({
        path: `${at}.labels.${key}`,
        reason: 'several path prefixes in one rule: routed by host only; add routes by hand',
      });
    found.push(...hostsFromRule(value).map((text) => ({ text, prefix, place: `${at}.labels.${key}` })));
  }
  const hosts: string[] = [];
  const routes: PathRoute[] = [];
  for (const { text, prefix, place } of found) {
    const host = routableHost(text);
    if (host === null) {
      notes.push({ path: place, reason: `${JSON.stringify(text)} is not a host name cutover routes by` });
      continue;
    }
    const claim = prefix === null ? host : `${host}${prefix}`;
    const owner = taken.get(claim);
    if (owner !== undefined && owner !== name) {
      notes.push({
        path: place,
        reason: `${claim} is routed to ${owner} already: cutover sends a host (or a host and path) to one service; give this one a host or a path route of its own`,
      });
      continue;
    }
    taken.set(claim, name);
    if (prefix === null && !hosts.includes(host)) hosts.push(host);
    else if (prefix !== null && !routes.some((r) => r.host === host && r.path_prefix === prefix))
      routes.push({ host, path_prefix: prefix });
  }
  return { hosts, routes };
}

/** Docker label keys cutover.yaml accepts (docker-schema.ts): `cutover.` is cutover's own. */
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The container labels a service carries, as cutover's `labels:`. Routing
 * labels (Traefik's, and nginx-proxy's) are not copied: a router still
 * watching Docker would send users straight to a release cutover has not
 * switched to; their host rules became `hosts`. Every label left out is noted.
 */
export function mapLabels(service: Map, at: string, notes: ImportNote[]): ImportEntry[] {
  const labels: Record<string, string> = {};
  for (const [key, value] of labelsOf(service.labels)) {
    if (/^traefik\./.test(key) || key === 'com.github.jrcs.letsencrypt_nginx_proxy_companion.nginx_proxy')
      notes.push({
        path: `${at}.labels.${key}`,
        reason:
          "a routing label: cutover's proxy routes by hosts (its Host rule, if any, is there); not copied, so a router watching Docker does not reach a release before the switch",
      });
    else if (!LABEL_KEY.test(key) || key.startsWith('cutover.'))
      notes.push({
        path: `${at}.labels.${key}`,
        reason: 'not a label name cutover accepts (letters, digits, ".", "-" and "_", not starting with cutover.)',
      });
    else labels[key] = value;
  }
  return Object.keys(labels).length > 0 ? [{ key: 'labels', value: labels, comment: 'container labels' }] : [];
}

export interface PortMapping {
  target: number;
  published: string | null;
  protocol: string;
  /** The variable whose default the target was read from (`${APP_PORT:-3000}`), if it was. */
  targetDefaultOf: string | null;
}

/** Splits at `separator` outside `${...}`: the `:` and `-` of `${PORT:-3000}` are Compose's, not the port syntax's. */
function splitOutside(text: string, separator: string): string[] {
  const masked = text.replace(/\$\{[^{}]*\}/g, (reference) => '_'.repeat(reference.length));
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < masked.length; i++)
    if (masked[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  parts.push(text.slice(start));
  return parts;
}

/** A container port, or null when it is none (a variable without a default, 0, out of range). */
function portNumber(value: unknown): { port: number; defaultOf: string | null } | null {
  const read = composeNumber(value);
  if (read === null || !Number.isInteger(read.value) || read.value < 1 || read.value > 65535) return null;
  return { port: read.value, defaultOf: read.defaultOf };
}

/** The ports a service publishes, and the entries whose container port cannot be read (for a note). */
export function portsOf(value: unknown): { ports: PortMapping[]; unreadable: string[] } {
  const ports: PortMapping[] = [];
  const unreadable: string[] = [];
  for (const item of Array.isArray(value) ? value : []) {
    if (isMap(item)) {
      const target = portNumber(item.target);
      if (target === null) unreadable.push(shown(item));
      else
        ports.push({
          target: target.port,
          targetDefaultOf: target.defaultOf,
          published: item.published === undefined ? null : shown(item.published),
          protocol: shown(item.protocol ?? 'tcp'),
        });
      continue;
    }
    // [ip:][published:]target[/protocol]; a range maps its first port.
    const [spec = '', protocol = 'tcp'] = splitOutside(shown(item), '/');
    const parts = splitOutside(spec, ':');
    const target = portNumber(splitOutside(parts[parts.length - 1] ?? '', '-')[0]);
    if (target === null) unreadable.push(shown(item));
    else
      ports.push({
        target: target.port,
        targetDefaultOf: target.defaultOf,
        published: parts.length > 1 ? (parts[parts.length - 2] ?? null) : null,
        protocol,
      });
  }
  return { ports, unreadable };
}

export function mapPorts(service: Map, setsPort: boolean, at: string, ctx: ServiceContext): ImportEntry[] {
  const { ports, unreadable } = portsOf(service.ports);
  for (const entry of unreadable)
    ctx.notes.push({
      path: `${at}.ports`,
      reason: `${entry}: no container port cutover can read in it (a variable without a default?): set container_port by hand`,
    });
  ports.slice(1).forEach((port) =>
    ctx.notes.push({
      path: `${at}.ports`,
      reason: `${port.published ?? '(any)'}:${port.target}/${port.protocol}: cutover routes one HTTP port per service (the first, ${ports[0]?.target})`,
    }),
  );
  const first = ports[0];
  if (!first) return [];
  if (first.targetDefaultOf !== null)
    ctx.notes.push({
      path: `${at}.ports`,
      reason: `container port ${first.target} is the default of \${${first.targetDefaultOf}}: cutover.yaml takes a number, so ${first.targetDefaultOf} from the environment is not read`,
    });
  if (first.protocol !== 'tcp')
    ctx.notes.push({ path: `${at}.ports`, reason: `${first.protocol}: cutover's proxy carries HTTP over TCP` });
  const published = first.published === null ? '' : `published ${first.published}, `;
  const proxy = 'traffic now arrives at server.proxy and is routed by host';
  if (setsPort || ctx.options.runtime === 'swarm') {
    return [
      {
        key: 'network',
        value: 'host',
        comment: `ports ${published}container ${first.target}: ${proxy}; each instance listens on its own $PORT${
          setsPort
            ? ' (Compose set PORT, so the app reads it)'
            : ' (a Swarm task shares the host network: the app must read PORT)'
        }`,
      },
    ];
  }
  return [
    { key: 'network', value: 'bridge', comment: `ports ${published}container ${first.target}: ${proxy}` },
    { key: 'container_port', value: first.target, comment: 'the port the app listens on inside its container' },
  ];
}
