import { createHash } from 'node:crypto';
import { canonicalJson } from '../../config/config-hash.js';
import type { ServiceRoute } from '../index.js';
import type { ProxyListenOptions } from '../proxy/proxy-router.js';

/** What the proxy process is started with: the proxy's listen options, without the parts that cannot cross a process. */
export type ProxyProcessListenOptions = Omit<ProxyListenOptions, 'logger' | 'onInstanceEjection'>;

export interface ProxyProcessOptions {
  listen: ProxyProcessListenOptions;
  /** Processes accepting on the listening socket (`server.proxy_workers`): the main one and `workers - 1` forked. */
  workers: number;
  /** Which cutover build runs the proxy: another build means a handover to it. */
  build: string;
  /** Of the rest, as canonical JSON: a restarted controller compares it to know whether the running proxy has its config. */
  digest: string;
  /** Routes and unhealthy marks to hold before accepting: a proxy started again after its crash (not in the digest). */
  initial?: { routes: ServiceRoute[]; unhealthy: string[] };
}

export function proxyProcessOptions(
  listen: ProxyProcessListenOptions,
  workers: number,
  build: string,
): ProxyProcessOptions {
  const digest = createHash('sha256').update(canonicalJson({ listen, workers, build })).digest('hex').slice(0, 16);
  return { listen, workers, build, digest };
}
