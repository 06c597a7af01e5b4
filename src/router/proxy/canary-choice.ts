import { randomFillSync } from 'node:crypto';
import type { CanaryEntry, CanaryMatchRule } from '../route-table.js';
import { headerNameIs } from './hop-by-hop-headers.js';

/** What the choice learnt besides its answer, written into the caller's scratch object. */
export interface CanaryChoice {
  /** A `Set-Cookie` value for the response when the proxy made up the client's sticky id, else null. */
  setCookie: string | null;
}

/**
 * Whether one request of a service in canary goes to the canary release, read
 * from its raw headers and the client's socket address:
 *
 * 1. a match rule hit (header `name: value`, the name in any case, the value
 *    exact; or cookie `name=value`) → canary, whatever the weight;
 * 2. weight 0 → stable, weight 100 → canary;
 * 3. else by the client's sticky key (`CanaryEntry.admits`): the stickiness
 *    cookie, or when it is missing a new random id the response sets as that
 *    cookie; the stickiness header, or the client address when it is missing;
 *    or the client address. The address is the socket's, or behind a trusted
 *    proxy the client its X-Forwarded-For names (request-routing.ts'
 *    clientAddressOf): anyone else's X-Forwarded-For is written by clients
 *    and would let anyone pick their side.
 *
 * Only services in canary come here; the scan allocates nothing except the
 * sticky key copied out of a Cookie header and a new id.
 */
export function goesToCanary<B>(
  canary: CanaryEntry<B>,
  rawHeaders: readonly string[],
  clientAddress: string | undefined,
  choice: CanaryChoice,
): boolean {
  choice.setCookie = null;
  if (!canary.readsHeaders) {
    if (canary.byWeightAlone) return canary.admitsAll;
    return clientAddress !== undefined && canary.admits(clientAddress);
  }
  const headerRules = canary.headerRules;
  const cookieRules = canary.cookieRules;
  const stickyBy = canary.stickyBy;
  const stickyName = canary.stickyName;
  let stickyKey: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    for (let r = 0; r < headerRules.length; r++) {
      const rule = headerRules[r] as CanaryMatchRule;
      if (value === rule.value && headerNameIs(name, rule.name)) return true;
    }
    if (name.length === 6 && headerNameIs(name, 'cookie')) {
      for (let r = 0; r < cookieRules.length; r++) {
        const rule = cookieRules[r] as CanaryMatchRule;
        if (hasCookie(value, rule.name, rule.value)) return true;
      }
      if (stickyBy === 'cookie' && stickyKey === undefined) stickyKey = cookieValue(value, stickyName);
    } else if (stickyBy === 'header' && stickyKey === undefined && value.length > 0 && headerNameIs(name, stickyName)) {
      stickyKey = value;
    }
  }
  if (canary.byWeightAlone) return canary.admitsAll;
  if (stickyBy === 'cookie') {
    if (stickyKey === undefined) {
      stickyKey = newStickyId();
      choice.setCookie = `${stickyName}=${stickyKey}; Path=/; HttpOnly; SameSite=Lax`;
    }
  } else if (stickyKey === undefined) {
    stickyKey = clientAddress;
  }
  return stickyKey !== undefined && canary.admits(stickyKey);
}

/** The value of cookie `name` in a Cookie header value, or undefined when it is missing or empty. */
export function cookieValue(header: string, name: string): string | undefined {
  const start = cookieValueStart(header, name);
  if (start < 0) return undefined;
  const end = cookieValueEnd(header, start);
  return end > start ? header.slice(start, end) : undefined;
}

/** True when a Cookie header value carries `name=value` exactly (compared in place, without copies). */
export function hasCookie(header: string, name: string, value: string): boolean {
  const start = cookieValueStart(header, name);
  return start >= 0 && cookieValueEnd(header, start) - start === value.length && header.startsWith(value, start);
}

/** Index of the value of the first cookie named `name` (case-sensitive, RFC 6265), or -1. */
function cookieValueStart(header: string, name: string): number {
  const length = header.length;
  let at = 0;
  while (at < length) {
    while (at < length && isSpace(header.charCodeAt(at))) at++;
    if (header.startsWith(name, at) && header.charCodeAt(at + name.length) === 0x3d /* = */)
      return at + name.length + 1;
    const next = header.indexOf(';', at);
    if (next < 0) return -1;
    at = next + 1;
  }
  return -1;
}

function cookieValueEnd(header: string, start: number): number {
  const semicolon = header.indexOf(';', start);
  let end = semicolon < 0 ? header.length : semicolon;
  while (end > start && isSpace(header.charCodeAt(end - 1))) end--;
  return end;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Random bytes drawn in batches: one `randomFillSync` call serves 256 new clients. */
const STICKY_ID_BYTES = 8;
const randomPool = Buffer.alloc(STICKY_ID_BYTES * 256);
let randomOffset = randomPool.length;

/** A new client id: 16 hex characters from the CSPRNG (64 bits, so two clients practically never share one). */
export function newStickyId(): string {
  if (randomOffset === randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const id = randomPool.toString('hex', randomOffset, randomOffset + STICKY_ID_BYTES);
  randomOffset += STICKY_ID_BYTES;
  return id;
}
