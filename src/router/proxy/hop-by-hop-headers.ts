/**
 * Hop-by-hop headers describe one connection, not the message (RFC 9110
 * §7.6.1), so a proxy must not forward them. undici also refuses some of them
 * outright (`connection`, `keep-alive`, `transfer-encoding`, `upgrade`,
 * `expect`), which would turn a client's header into a 502.
 *
 * The checks compare character codes so the per-header work allocates
 * nothing; header names arrive in any case.
 */

/** Lower-case names, grouped by length for a cheap first test. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  // Not hop-by-hop in the RFC, but Node answers `100 Continue` itself and undici cannot send it.
  'expect',
] as const;

const BY_LENGTH: readonly (readonly string[])[] = (() => {
  const table: string[][] = [];
  for (const name of HOP_BY_HOP) (table[name.length] ??= []).push(name);
  return table;
})();

/** Lower-case ASCII code of `value[i]`. */
function lowerCodeAt(value: string, i: number): number {
  const code = value.charCodeAt(i);
  return code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
}

/** `name` equals `lower` (a lower-case literal) ignoring ASCII case. */
export function headerNameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (lowerCodeAt(name, i) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * `name` spells `lower` (a lower-case literal with `-`) with `_` for some of
 * its hyphens, like `X_Forwarded_For`. Such a header is no hyphenated one to
 * a proxy, but CGI-style backends (PHP, WSGI, Rack) map both spellings to
 * the same HTTP_X_FORWARDED_FOR, where the client's could win over ours.
 */
export function headerNameIsUnderscoreSpelling(name: string, lower: string): boolean {
  if (name.length !== lower.length || !name.includes('_')) return false;
  for (let i = 0; i < lower.length; i++) {
    const code = lowerCodeAt(name, i);
    const want = lower.charCodeAt(i);
    if (code !== want && !(code === 0x5f && want === 0x2d)) return false;
  }
  return true;
}

export function isHopByHopHeader(name: string): boolean {
  const candidates = BY_LENGTH[name.length];
  if (candidates === undefined) return false;
  for (const candidate of candidates) {
    if (headerNameIs(name, candidate)) return true;
  }
  return false;
}

/** The same test on a raw header name from undici (latin1 bytes), before turning it into a string. */
export function isHopByHopHeaderBytes(name: Buffer): boolean {
  const candidates = BY_LENGTH[name.length];
  if (candidates === undefined) return false;
  for (const candidate of candidates) {
    let same = true;
    for (let i = 0; i < candidate.length; i++) {
      let code = name[i] as number;
      if (code >= 0x41 && code <= 0x5a) code |= 0x20;
      if (code !== candidate.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}

/**
 * Extra header names a `Connection` value declares hop-by-hop
 * (`Connection: close, X-Trace`), lower case, without the standard ones.
 * Returns null in the common case where there are none, to keep that path
 * free of allocation beyond the split.
 */
export function connectionListedHeaders(connectionValue: string): string[] | null {
  if (!connectionValue.includes(',')) {
    // The usual single token (keep-alive, close, upgrade): nothing extra to strip.
    const token = connectionValue.trim();
    if (token.length === 0 || headerNameIs(token, 'close') || isHopByHopHeader(token) || isFraming(token)) return null;
  }
  let listed: string[] | null = null;
  for (const token of connectionValue.split(',')) {
    const name = token.trim().toLowerCase();
    if (name.length === 0 || name === 'close' || isHopByHopHeader(name) || isFraming(name)) continue;
    (listed ??= []).push(name);
  }
  return listed;
}

/**
 * Host and Content-Length are never dropped on a `Connection` header's say:
 * one routes the request, the other frames its body, and a peer must not be
 * able to make the two ends of the proxy read a message differently.
 */
function isFraming(name: string): boolean {
  return headerNameIs(name, 'host') || headerNameIs(name, 'content-length');
}

/** Removes `names` (lower case) from a flat [name, value, ...] list in place. */
export function removeHeaders(flat: string[], names: readonly string[]): void {
  let write = 0;
  for (let read = 0; read < flat.length; read += 2) {
    const name = flat[read] as string;
    if (names.includes(name.toLowerCase())) continue;
    flat[write++] = name;
    flat[write++] = flat[read + 1] as string;
  }
  flat.length = write;
}
