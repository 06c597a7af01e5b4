/**
 * The path a path route (`routes[].path_prefix`) is matched against, the
 * same on every router: the request target's path, percent-decoded (every
 * `%XX`), with runs of `/` merged and `.` and `..` segments resolved, which
 * is what nginx matches its locations against. Before, the embedded proxy
 * compared the target as written, so `/%61pi/x`, `//api/x` and
 * `/static/../api/x` reached the api service on nginx and the host's own
 * service on the proxy: a prefix meant to keep a service apart was side-stepped
 * on one router or the other.
 *
 * A path that climbs above `/` (`/../x`, `/a/%2e%2e/..`), holds a `%` not
 * followed by two hex digits, or decodes to a NUL cannot be matched: null,
 * answered 400 (nginx answers those 400 on every host).
 *
 * Decoded bytes are kept one character each (latin1), as Node hands the raw
 * target over, so a prefix decoded the same way compares byte for byte.
 * Pure: no I/O.
 */

/**
 * True when the target's path (before `?`) holds what decoding or merging
 * would change: a `%`, a `//`, or a `/.` (a dot segment, or a name starting
 * with a dot, which costs the slow path and changes nothing). The usual path
 * costs one pass of character tests.
 */
export function needsNormalizing(url: string): boolean {
  const length = url.length;
  for (let i = 0; i < length; i++) {
    const code = url.charCodeAt(i);
    if (code === 0x3f /* ? */) return false;
    if (code === 0x25 /* % */) return true;
    if (code === 0x2f /* / */) {
      const next = url.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e /* . */) return true;
    }
  }
  return false;
}

/** The normalised path of a target starting with `/` (the query dropped), or null when it cannot be matched. */
export function normalizedPath(url: string): string | null {
  const query = url.indexOf('?');
  const raw = query === -1 ? url : url.slice(0, query);
  let decoded = '';
  let start = 0;
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', start)) {
    const byte = hexByte(raw, i + 1);
    if (byte <= 0) return null;
    decoded += raw.slice(start, i) + String.fromCharCode(byte);
    start = i + 3;
  }
  decoded += raw.slice(start);
  const segments = decoded.split('/');
  const kept: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === '..') {
      if (kept.length === 0) return null;
      kept.pop();
    } else if (segment !== '' && segment !== '.') {
      kept.push(segment);
      continue;
    }
    // `/a/`, `/a/.` and `/a/b/..` all end on a directory: the slash stays, as nginx keeps it.
    if (last) trailingSlash = true;
  }
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${trailingSlash ? '/' : ''}`;
}

/**
 * A normalised path as a request target again, escaped as nginx escapes the
 * path it sends after a `rewrite` (what `strip_prefix` is there): controls,
 * space, `"#%<>?\^`{|}`, DEL and every byte above it become `%XX`; the rest,
 * `/` included, is sent as it is.
 */
export function escapedPath(path: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code < 0x80 && ESCAPED[code] !== 1) continue;
    out += path.slice(start, i);
    if (code <= 0xff) out += `%${HEX[code >> 4] as string}${HEX[code & 0xf] as string}`;
    else {
      // Only from an HTTP/2 :path (HTTP/1.1 targets are ASCII): its UTF-8 bytes.
      const char = String.fromCodePoint(path.codePointAt(i) as number);
      for (const byte of Buffer.from(char, 'utf8')) out += `%${HEX[byte >> 4] as string}${HEX[byte & 0xf] as string}`;
      i += char.length - 1;
    }
    start = i + 1;
  }
  return start === 0 ? path : out + path.slice(start);
}

/** The byte of the two hex digits at `at`, or -1. */
function hexByte(text: string, at: number): number {
  const high = hexValue(text.charCodeAt(at));
  const low = hexValue(text.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

const HEX = '0123456789ABCDEF';

const ESCAPED = (() => {
  const table = new Uint8Array(128);
  for (let code = 0; code <= 0x20; code++) table[code] = 1;
  for (const char of '"#%<>?\\^`{|}') table[char.charCodeAt(0)] = 1;
  table[0x7f] = 1;
  return table;
})();
