import type { ServiceConfig } from './types.js';

/** Every name a service answers: its hosts and the hosts of its path routes, each once (certificates, doctor). */
export function servedHosts(service: Pick<ServiceConfig, 'hosts' | 'paths'>): string[] {
  return [...new Set([...service.hosts, ...(service.paths ?? []).map((path) => path.host)])];
}
