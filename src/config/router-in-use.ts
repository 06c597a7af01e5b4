import type { CutoverConfig, ListenAddress } from './types.js';

/**
 * Which router moves the traffic and where it listens, as `status`, the
 * admin API (GET /api/v1/services) and the dashboard's header show it: the
 * answer to "is this the embedded proxy, nginx or HAProxy?" without reading
 * cutover.yaml.
 */
export interface RouterInUse {
  kind: CutoverConfig['server']['router'];
  /** `host:port` of `server.proxy` (an IPv6 host in brackets). */
  listen: string;
  /** `host:port` of `server.https`, when the proxy has a TLS listener. */
  https?: string;
}

export function routerInUse(server: Pick<CutoverConfig['server'], 'router' | 'proxy' | 'https'>): RouterInUse {
  const used: RouterInUse = { kind: server.router, listen: formatAddress(server.proxy) };
  if (server.https !== undefined) used.https = formatAddress(server.https);
  return used;
}

/** One line: `haproxy (127.0.0.1:8080)`, `proxy (0.0.0.0:80, https 0.0.0.0:443)`. */
export function describeRouter(router: RouterInUse): string {
  return `${router.kind} (${router.listen}${router.https === undefined ? '' : `, https ${router.https}`})`;
}

function formatAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
