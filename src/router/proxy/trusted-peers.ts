import { BlockList, isIPv4 } from 'node:net';
import type { Cidr } from '../../config/cidr.js';

/**
 * The peers whose forwarding headers (X-Forwarded-*, X-Real-IP, Forwarded)
 * the proxy believes: `server.trusted_proxies`. Empty by default: nobody is.
 */
export class TrustedPeers {
  private readonly list: BlockList | null;

  constructor(blocks: readonly Cidr[]) {
    if (blocks.length === 0) {
      this.list = null;
      return;
    }
    const list = new BlockList();
    for (const block of blocks) list.addSubnet(block.address, block.prefix, block.family);
    this.list = list;
  }

  /** True when the socket peer is in a trusted block (an IPv4-mapped IPv6 address is checked as IPv4). */
  trusts(address: string | undefined): boolean {
    const list = this.list;
    if (list === null || address === undefined) return false;
    if (address.startsWith('::ffff:')) {
      const v4 = address.slice(7);
      if (isIPv4(v4)) return list.check(v4, 'ipv4');
    }
    return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
