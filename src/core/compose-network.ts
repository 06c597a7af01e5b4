import { hostsFromRule, routableHost } from './compose-values.js';
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

export function hostsOf(service: Map, fromEnv: string[], at: string, notes: ImportNote[]): string[] {
  const found = [...fromEnv];
  for (const [key, value] of labelsOf(service.labels))
    if (/^traefik\.http\.routers\..*\.rule$/.test(key)) found.push(...hostsFromRule(value));
  const hosts: string[] = [];
  for (const text of found) {
    const host = routableHost(text);
    if (host === null)
      notes.push({ path: `${at}.labels`, reason: `${JSON.stringify(text)} is not a host name cutover routes by` });
    else if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}

export interface PortMapping {
  target: number;
  published: string | null;
  protocol: string;
}

export function portsOf(value: unknown): PortMapping[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item): PortMapping[] => {
    if (isMap(item)) {
      const target = Number(item.target);
      return Number.isInteger(target)
        ? [
            {
              target,
              published: item.published === undefined ? null : shown(item.published),
              protocol: shown(item.protocol ?? 'tcp'),
            },
          ]
        : [];
    }
    // [ip:][published:]target[/protocol]; a range maps its first port.
    const [spec = '', protocol = 'tcp'] = shown(item).split('/');
    const parts = spec.split(':');
    const target = Number((parts[parts.length - 1] ?? '').split('-')[0]);
    return Number.isInteger(target)
      ? [{ target, published: parts.length > 1 ? (parts[parts.length - 2] ?? null) : null, protocol }]
      : [];
  });
}

export function mapPorts(service: Map, setsPort: boolean, at: string, ctx: ServiceContext): ImportEntry[] {
  const ports = portsOf(service.ports);
  ports.slice(1).forEach((port) =>
    ctx.notes.push({
      path: `${at}.ports`,
      reason: `${port.published ?? '(any)'}:${port.target}/${port.protocol}: cutover routes one HTTP port per service (the first, ${ports[0]?.target})`,
    }),
  );
  const first = ports[0];
  if (!first) return [];
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
