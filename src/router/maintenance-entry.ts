import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from '../config/cidr.js';
import { CutoverError } from '../core/errors.js';
import type { MaintenanceRoute } from './index.js';

/**
 * A service's maintenance, prepared once per route change: the allow list as
 * a BlockList, so the per-request check is one lookup. Pure data apart from
 * node:net's matcher; the answer itself is the adapter's.
 */
export class MaintenanceEntry {
  readonly message: string;
  readonly retryAfterSec: number;
  readonly page: string | null;
  private readonly allowList: BlockList | null;

  constructor(route: MaintenanceRoute) {
    this.message = route.message;
    this.retryAfterSec = route.retryAfterSec;
    this.page = route.page ?? null;
    if (route.allow.length === 0) {
      this.allowList = null;
      return;
    }
    const list = new BlockList();
    for (const block of route.allow) {
      const parsed = parseCidr(block);
      if (!parsed.ok)
        throw new CutoverError('CONFIG_INVALID', `maintenance allow entry '${block}': ${parsed.expected}`);
      list.addSubnet(parsed.cidr.address, parsed.cidr.prefix, parsed.cidr.family);
    }
    this.allowList = list;
  }

  /** True when a client at this socket address is routed as usual (an IPv4-mapped IPv6 address is checked as IPv4). */
  allows(address: string | undefined): boolean {
    const list = this.allowList;
    if (list === null || address === undefined) return false;
    if (address.startsWith('::ffff:')) {
      const v4 = address.slice(7);
      if (isIPv4(v4)) return list.check(v4, 'ipv4');
    }
    return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
