import { createHash } from 'node:crypto';
import { CutoverError } from '../../core/errors.js';
import { NGINX_COOKIE_NAME, NGINX_HEADER_NAME, NGINX_PATH_PREFIX } from '../../config/router-literals.js';

/**
 * Names and literals cutover writes into nginx config. Everything user-given
 * (service names, release ids, header and cookie names, match values, hosts)
 * goes through here, so a value can neither break the config's syntax nor
 * smuggle a directive in. Pure: no I/O.
 */

/**
 * `[a-z0-9_]` only. When that changed the name (`web-1`, `Web_1` and `web_1`
 * would all collide), a short hash of the original is appended to keep names
 * of different services or releases apart.
 */
export function sanitizeName(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (cleaned === name && cleaned.length > 0) return cleaned;
  return `${cleaned}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** The `upstream` block of one release of one service; also the release's tag in the access log. */
export function upstreamName(service: string, releaseId: string): string {
  return `cutover_${sanitizeName(service)}__${sanitizeName(releaseId)}`;
}

/** Prefix of every variable cutover defines for a service (`$cutover_v_web_…`). */
export function variablePrefix(service: string): string {
  return `cutover_v_${sanitizeName(service)}`;
}

/** Host names as nginx's server_name takes them: labels, a leading `*.` or trailing `.*` wildcard, an IPv6 literal. */
const HOST_NAME = /^(\*\.)?[A-Za-z0-9_.-]+(\.\*)?$|^\[[0-9A-Fa-f:.]+\]$/;

/** `X-User-Id` → `$http_x_user_id`, nginx's variable for a request header. */
export function headerVariable(header: string): string {
  if (!NGINX_HEADER_NAME.test(header)) {
    throw new CutoverError('CONFIG_INVALID', `header name '${header}' cannot be routed on by nginx`, {
      hint: 'Use a header name made of letters, digits, - and _.',
    });
  }
  return `$http_${header.toLowerCase().replace(/-/g, '_')}`;
}

export function assertCookieName(cookie: string): void {
  if (!NGINX_COOKIE_NAME.test(cookie)) {
    throw new CutoverError('CONFIG_INVALID', `cookie name '${cookie}' cannot be routed on by nginx`, {
      hint: 'Use a cookie name made of letters, digits, ., - and _.',
    });
  }
}

export function assertHostName(host: string): void {
  if (!HOST_NAME.test(host)) {
    throw new CutoverError('CONFIG_INVALID', `host '${host}' cannot be written as an nginx server_name`, {
      hint: 'Use a plain host name (letters, digits, ., -), optionally with a leading *. wildcard.',
    });
  }
}

/**
 * A PCRE fragment matching `value` literally: letters and digits as they are,
 * every other byte as `\xHH`. nginx's parser keeps `\x` as written inside a
 * quoted string, and no `"`, `$`, `;` or `{` survives into the config.
 */
export function regexLiteral(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const isAlnum = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    out += isAlnum ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * A double-quoted nginx string of text cutover made up (a cookie attribute
 * list, a JSON error body). `$` is not escapable in nginx strings, so callers
 * only pass text without it unless they mean a variable.
 */
export function quoted(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function assertPathPrefix(service: string, prefix: string): void {
  if (!NGINX_PATH_PREFIX.test(prefix)) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `service '${service}': path prefix '${prefix}' cannot be routed by nginx`,
      {
        hint: 'nginx matches decoded paths: write the prefix without %-escapes, $ or ; (letters, digits, / and ._~-).',
      },
    );
  }
}

/** An allow-list block as nginx's `geo` takes it (`10.0.0.0/8`, `fd00::/8`); anything else is refused. */
export function geoNetwork(address: string, prefix: number): string {
  if (!/^[0-9A-Fa-f:.]+$/.test(address) || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `maintenance allow entry '${address}/${prefix}' cannot be written for nginx`,
      {
        hint: 'Use plain IPv4 or IPv6 blocks, like 10.0.0.0/8 (no zone index).',
      },
    );
  }
  return `${address}/${prefix}`;
}

/** A file path as a quoted nginx string; `$` cannot be escaped there, so a path holding one is refused. */
export function quotedPath(file: string): string {
  if (file.includes('$') || [...file].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
    throw new CutoverError('CONFIG_INVALID', `path '${file}' cannot be written into nginx config`, {
      hint: 'Keep $ and control characters out of the directory of server.nginx.include_file.',
    });
  }
  return quoted(file);
}
