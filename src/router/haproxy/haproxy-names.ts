import { createHash } from 'node:crypto';
import { HAPROXY_COOKIE_NAME, HAPROXY_HEADER_NAME, HAPROXY_MATCH_VALUE } from '../../config/router-literals.js';
import { CutoverError } from '../../core/errors.js';
import type { Upstream } from '../index.js';

/**
 * Names and literals cutover writes into haproxy.cfg, its map files and
 * Runtime API commands. Everything user-given (service names, release and
 * upstream ids, hosts, header and cookie names, match values, addresses)
 * goes through here, so a value can neither break the config's syntax nor
 * smuggle a directive or a second CLI command in: each one either matches a
 * strict grammar (no whitespace, no quote, no `;`, no `#`, no `\`, no `%`,
 * no `$`) or is refused with CONFIG_INVALID. Pure: no I/O.
 */

/**
 * `[a-z0-9_]` only. When that changed the name (`web-1`, `Web_1` and `web_1`
 * would collide), a short hash of the original keeps them apart.
 */
export function sanitizeName(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (cleaned === name && cleaned.length > 0 && cleaned.length <= 40) return cleaned;
  return `${cleaned.slice(0, 40)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** The key of a service in the map files and its ACL names. */
export function serviceKey(service: string): string {
  return sanitizeName(service);
}

/** Backend slots per service: a release takes one no routed release holds (see service-slots.ts). */
export const SLOTS_PER_SERVICE = 4;

export function backendName(service: string, slot: number): string {
  return `cutover_${serviceKey(service)}_${slot}`;
}

/** One upstream of one release: unique in its backend, and tells the release apart in `show stat`. */
export function serverName(releaseId: string, upstreamId: string): string {
  return `${sanitizeName(releaseId)}__${sanitizeName(upstreamId)}`;
}

/** Lower-case labels or an IPv6 literal: exact keys of the host map (HAProxy's map_str, no wildcard). */
const HOST_NAME = /^[a-z0-9_.-]{1,253}$|^\[[0-9a-f:.]{2,45}\]$/;
const ADDRESS_HOST = /^[A-Za-z0-9.:_-]{1,253}$/;
/** Paths written into haproxy.cfg: absolute, no space or quote. */
const PATH = /^\/[A-Za-z0-9._/-]{1,4000}$/;

export function assertHeaderName(header: string): void {
  if (!HAPROXY_HEADER_NAME.test(header)) {
    throw new CutoverError('CONFIG_INVALID', `header name '${printable(header)}' cannot be routed on by HAProxy`, {
      hint: 'Use a header name made of letters, digits, - and _.',
    });
  }
}

export function assertCookieName(cookie: string): void {
  if (!HAPROXY_COOKIE_NAME.test(cookie)) {
    throw new CutoverError('CONFIG_INVALID', `cookie name '${printable(cookie)}' cannot be routed on by HAProxy`, {
      hint: 'Use a cookie name made of letters, digits, ., - and _.',
    });
  }
}

/** `host` is already normalised (lower case, no port). */
export function assertHostName(host: string): void {
  if (!HOST_NAME.test(host)) {
    throw new CutoverError('CONFIG_INVALID', `host '${printable(host)}' cannot be routed by HAProxy`, {
      hint: 'Use a plain host name (letters, digits, ., -, _) or an IPv6 literal; HAProxy routes exact hosts, no wildcards.',
    });
  }
}

export function assertMatchValue(value: string): void {
  if (!HAPROXY_MATCH_VALUE.test(value)) {
    throw new CutoverError('CONFIG_INVALID', `match value '${printable(value)}' cannot be routed on by HAProxy`, {
      hint: 'Use a value of letters, digits and punctuation, without spaces, quotes, `,`, `;`, `\\`, `#`, `%` or `$`.',
    });
  }
}

export function assertPath(file: string): void {
  if (!PATH.test(file)) {
    throw new CutoverError('CONFIG_INVALID', `path '${printable(file)}' cannot be written into haproxy.cfg`, {
      hint: 'Use an absolute path of letters, digits, ., -, _ and /.',
    });
  }
}

/** `host:port`, or `[v6]:port`, for a `server` line or `add server`. */
export function serverAddress(upstream: Upstream): string {
  if (
    !ADDRESS_HOST.test(upstream.host) ||
    !Number.isInteger(upstream.port) ||
    upstream.port < 1 ||
    upstream.port > 65535
  ) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `upstream '${printable(upstream.id)}' has an address HAProxy cannot use: ${printable(upstream.host)}:${upstream.port}`,
    );
  }
  return upstream.host.includes(':') ? `[${upstream.host}]:${upstream.port}` : `${upstream.host}:${upstream.port}`;
}

/** A listen address for `bind`. */
export function bindAddress(listen: { host: string; port: number }): string {
  return serverAddress({ id: 'listen', host: listen.host, port: listen.port });
}

/** For error messages: control characters shown as `?`, so a hostile value cannot forge log lines. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}
