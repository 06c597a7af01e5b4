import { createHash } from 'node:crypto';
import { canonicalJson } from '../../config/config-hash.js';
import type { ProxyListenOptions } from '../proxy/proxy-router.js';

/** What the proxy process is started with: the proxy's listen options, without the parts that cannot cross a process. */
export type ProxyProcessListenOptions = Omit<ProxyListenOptions, 'logger' | 'onInstanceEjection'>;

export interface ProxyProcessOptions {
  listen: ProxyProcessListenOptions;
  /** Of `listen`, as canonical JSON: a restarted controller compares it to know whether the running proxy has its config. */
  digest: string;
}

export function proxyProcessOptions(listen: ProxyProcessListenOptions): ProxyProcessOptions {
  return { listen, digest: createHash('sha256').update(canonicalJson(listen)).digest('hex').slice(0, 16) };
}
