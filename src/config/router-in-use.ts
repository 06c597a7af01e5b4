import type { CutoverConfig } from './types.js';

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
}

export function routerInUse(server: Pick<CutoverConfig['server'], 'router' | 'proxy'>): RouterInUse {
  const { host, port } = server.proxy;
  return { kind: server.router, listen: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

/** One line: `haproxy (127.0.0.1:8080)`. */
export function describeRouter(router: RouterInUse): string {
  return `${router.kind} (${router.listen})`;
}
