import { isIP } from 'node:net';
import type { ListenAddress } from './types.js';

/**
 * Listen addresses: `host:port`, `:port` (loopback), `[::1]:port`, or a bare
 * port. A bare port binds 127.0.0.1, not every interface: exposing the proxy
 * or the admin API beyond the machine has to be written out.
 */
export type ListenAddressResult = { ok: true; address: ListenAddress } | { ok: false; expected: string };

export const DEFAULT_LISTEN_HOST = '127.0.0.1';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

/** True when two listeners would take the same socket: the same port on the same host, or on a wildcard one. */
export function sameSocket(a: ListenAddress, b: ListenAddress): boolean {
  return a.port === b.port && (a.host === b.host || WILDCARD_HOSTS.has(a.host) || WILDCARD_HOSTS.has(b.host));
}

export const LISTEN_ADDRESS_EXPECTED = 'expected host:port, :port or [ipv6]:port with a port from 1 to 65535';

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function parseListenAddress(value: unknown): ListenAddressResult {
  if (typeof value === 'number') return withPort(DEFAULT_LISTEN_HOST, String(value));
  if (typeof value !== 'string') return { ok: false, expected: LISTEN_ADDRESS_EXPECTED };
  const text = value.trim();
  if (/^\d+$/.test(text)) return withPort(DEFAULT_LISTEN_HOST, text);
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracketed) {
    const [, host = '', port = ''] = bracketed;
    if (isIP(host) !== 6) return { ok: false, expected: 'expected an IPv6 address inside [ ], like [::1]:8080' };
    return withPort(host, port);
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { ok: false, expected: LISTEN_ADDRESS_EXPECTED };
  const host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  if (host.includes(':')) return { ok: false, expected: 'expected an IPv6 address in brackets, like [::1]:8080' };
  if (host === '') return withPort(DEFAULT_LISTEN_HOST, port);
  if (!HOST_NAME.test(host) || (/^[\d.]+$/.test(host) && isIP(host) !== 4)) {
    return { ok: false, expected: 'expected a host name or IP address before ":port"' };
  }
  return withPort(host, port);
}

function withPort(host: string, portText: string): ListenAddressResult {
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) return { ok: false, expected: 'expected a port from 1 to 65535' };
  return { ok: true, address: { host, port } };
}

/** `127.0.0.1:8080`, `[::1]:8080`: the form users write, for messages and URLs. */
/**
 * The URL a client on this machine uses to reach a listening address: a
 * wildcard host (0.0.0.0, ::) is reached on loopback, an IPv6 host in brackets.
 */
export function localUrlOf(address: ListenAddress): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}`;
}

export function formatListenAddress(address: ListenAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
