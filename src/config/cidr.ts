import { BlockList, isIP } from 'node:net';

/** One `server.trusted_proxies` entry: an address block like 10.0.0.0/8 or fd00::/8 (a bare address is a /32 or /128). */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export const CIDR_EXPECTED = 'expected an IP address or CIDR block, like 10.0.0.0/8, 192.168.1.7 or fd00::/8';

/** Parses a CIDR block; node:net's BlockList has the final word on whether it is one. */
export function parseCidr(value: unknown): { ok: true; cidr: Cidr } | { ok: false; expected: string } {
  if (typeof value !== 'string') return { ok: false, expected: CIDR_EXPECTED };
  const text = value.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { ok: false, expected: CIDR_EXPECTED };
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return { ok: false, expected: CIDR_EXPECTED };
  const prefix = Number(prefixText);
  if (prefix > max)
    return { ok: false, expected: `expected a prefix length of at most ${max} for an IP${family.slice(2)} block` };
  try {
    new BlockList().addSubnet(address, prefix, family);
  } catch {
    return { ok: false, expected: CIDR_EXPECTED };
  }
  return { ok: true, cidr: { address, prefix, family } };
}
