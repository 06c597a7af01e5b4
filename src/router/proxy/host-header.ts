/**
 * Whether a Host header value is one a request may be routed by. RFC 9112
 * §3.2: a server MUST answer 400 to a Host that is not `uri-host [":" port]`
 * (RFC 3986 §3.2.2), as it must to a request with two Host lines
 * (forwarded-headers.ts counts them). Before, the proxy routed by whatever it
 * was given and forwarded it, so the app could read a name the route was never
 * chosen by.
 *
 * Taken: a registered name (letters, digits, `-_~`, the sub-delims, `%XX`,
 * in labels joined by single dots, one trailing dot allowed), an IPv4
 * address, or an IP literal in brackets, then an optional port of digits.
 * Refused besides, as nginx refuses most of them: an empty name (`:80`,
 * `.`) and an empty label (`a..b`, `.a`), which no configured host can be.
 * HAProxy is given the same rule (render-haproxy-config.ts).
 *
 * A loop over a table, not a regular expression: it runs on every request.
 */
export function isValidHostHeader(value: string): boolean {
  const length = value.length;
  let i = 0;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++) if (!takes(IP_LITERAL, value.charCodeAt(i))) return false;
    i = close + 1;
  } else {
    // As if after a dot: a name cannot start with one.
    let previous = 0x2e;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code === 0x3a /* : */) break;
      if (!takes(REG_NAME, code)) return false;
      if (code === 0x2e /* . */ && previous === 0x2e) return false;
      if (code === 0x25 /* % */) {
        if (!takes(HEX, value.charCodeAt(i + 1)) || !takes(HEX, value.charCodeAt(i + 2))) return false;
        i += 2;
      }
      previous = code;
    }
    if (i === 0) return false;
  }
  if (i === length) return true;
  if (value.charCodeAt(i) !== 0x3a) return false;
  for (i++; i < length; i++) if (!takes(DIGIT, value.charCodeAt(i))) return false;
  return true;
}

function table(characters: string): Uint8Array {
  const out = new Uint8Array(128);
  for (let i = 0; i < characters.length; i++) out[characters.charCodeAt(i)] = 1;
  return out;
}

/** `code` is ASCII and in `set` (the NaN read past the end is not). */
function takes(set: Uint8Array, code: number): boolean {
  return code < 128 && set[code] === 1;
}

const DIGIT = table('0123456789');
const HEX = table('0123456789ABCDEFabcdef');
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** unreserved, sub-delims and `%` (its two hex digits are checked where it is met). */
const REG_NAME = table(`${ALPHANUMERIC}-._~!$&'()*+,;=%`);
/** An IPv6 address (with a `%25` zone) or an IPvFuture literal, inside the brackets. */
const IP_LITERAL = table(`${ALPHANUMERIC}-._~!$&'()*+,;=:%`);
