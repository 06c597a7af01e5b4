/**
 * Throttles guessing of the admin token: per client address, at most `limit`
 * failed attempts (a wrong bearer token, a wrong dashboard login) within a
 * sliding window of `windowMs`. Once an address has used them up, every
 * further attempt from it is refused until its oldest failure leaves the
 * window, without checking the token: answering a right guess while refusing
 * wrong ones would let the guessing go on at full speed.
 *
 * An IPv6 client counts by its /64, the block one host is usually given:
 * counting each address alone let one machine rotate through 2^64 of them,
 * a fresh budget for each (and evict everyone else's from the bounded map).
 *
 * A success does not clear the failures, so a client that shares an address
 * with the guesser (a NAT, a proxy) cannot reset the guesser's budget.
 * Memory is bounded: at most `maxAddresses` addresses are tracked, the least
 * recently failing dropped first. Pure: the clock is injected.
 */
export interface FailedAuthThrottleOptions {
  limit?: number;
  windowMs?: number;
  maxAddresses?: number;
  now?: () => number;
}

export const FAILED_AUTH_LIMIT = 10;
export const FAILED_AUTH_WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class FailedAuthThrottle {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** Failure times of each address, oldest first; the Map's order is least recently failing first. */
  private readonly failures = new Map<string, number[]>();

  constructor(options: FailedAuthThrottleOptions = {}) {
    this.limit = options.limit ?? FAILED_AUTH_LIMIT;
    this.windowMs = options.windowMs ?? FAILED_AUTH_WINDOW_MS;
    this.maxAddresses = options.maxAddresses ?? MAX_ADDRESSES;
    this.now = options.now ?? Date.now;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const times = this.recent(clientKeyOf(address));
    if (times.length < this.limit) return 0;
    const freeAt = times[times.length - this.limit]! + this.windowMs;
    return Math.max(1, Math.ceil((freeAt - this.now()) / 1000));
  }

  recordFailure(address: string): void {
    const key = clientKeyOf(address);
    const times = this.recent(key);
    times.push(this.now());
    // Only the last `limit` failures decide when the address is free again.
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    this.failures.delete(key);
    this.failures.set(key, times);
    while (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  /** Addresses tracked, for tests. */
  get size(): number {
    return this.failures.size;
  }

  private recent(address: string): number[] {
    const times = this.failures.get(address);
    if (times === undefined) return [];
    const since = this.now() - this.windowMs;
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}

/**
 * Whose budget an address spends: an IPv4 address (an IPv4-mapped IPv6 one
 * too) by itself, an IPv6 address by its /64 (`2001:db8:0:1::/64`).
 */
export function clientKeyOf(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice('::ffff:'.length);
  if (!lower.includes(':')) return lower;
  const zoneless = lower.split('%')[0] as string;
  // An IPv4 tail (`::1.2.3.4`) stands for the last two groups; only the first four matter here.
  const words = zoneless.replace(/[0-9.]+\.[0-9]+$/, '0:0');
  const double = words.indexOf('::');
  const head = (double < 0 ? words : words.slice(0, double)).split(':').filter((group) => group !== '');
  const tail =
    double < 0
      ? []
      : words
          .slice(double + 2)
          .split(':')
          .filter((group) => group !== '');
  const groups =
    double < 0 ? head : [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  const prefix = groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, ''));
  return `${prefix.join(':')}::/64`;
}
