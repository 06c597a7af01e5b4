/**
 * Sticky buckets: a client key (a user id, a cookie, an address) hashed to one
 * of 10,000 buckets, so a percentage rollout is a threshold on the bucket:
 * the key is in when `bucketOf(key, salt) < percent * 100`. A key's bucket
 * never changes, so raising the percentage only ever adds keys, and a key
 * gets the same answer on every request at a given percentage.
 *
 * The hash is MurmurHash3 x86 32-bit (Austin Appleby, SMHasher) of the UTF-8
 * bytes: the function Unleash, Optimizely and most flag SDKs use, so flag
 * evaluation in other languages can reproduce a bucket from the same test
 * vectors. `bucketOf` hashes `${salt}:${key}` with seed 0 (the Unleash
 * convention: the salt is the service or flag name, so two rollouts do not
 * pick the same 5 % of users).
 *
 * Strings are UTF-8 encoded on the fly, without a Buffer: a canary-routed
 * request computes a bucket without allocating. Pure: no I/O, no timers.
 */

/** Number of buckets: a percentage has a resolution of 0.01. */
export const BUCKET_COUNT = 10_000;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86 32-bit of `input` (a string is hashed as UTF-8, lone surrogates as U+FFFD), unsigned. */
export function murmurHash3(input: string | Uint8Array, seed = 0): number {
  begin(seed);
  if (typeof input === 'string') pushString(input);
  else for (let i = 0; i < input.length; i++) pushByte(input[i] as number);
  return finish();
}

/** The bucket (0 to 9,999) of `key` in the rollout named `salt`. */
export function bucketOf(key: string, salt: string): number {
  begin(0);
  pushString(salt);
  pushByte(0x3a /* : */);
  pushString(key);
  // 2^32 is not a multiple of 10,000: the low 7,296 buckets are 1 in 430,000 more likely, far below any traffic noise.
  return finish() % BUCKET_COUNT;
}

/** True when `key` is in the first `percent` (0-100, fractions allowed) of the rollout named `salt`. */
export function inRollout(key: string, salt: string, percent: number): boolean {
  // Rounded: 0.07 * 100 is 7.000000000000001 in floating point, which would admit an 8th bucket.
  return bucketOf(key, salt) < Math.round(percent * (BUCKET_COUNT / 100));
}

// The running hash. Hashing is synchronous and never re-entered, so one set of scratch state serves every call.
let hash = 0;
/** Bytes of the current 4-byte block, little-endian, and how many there are. */
let block = 0;
let blockBytes = 0;
let byteLength = 0;

function begin(seed: number): void {
  hash = seed | 0;
  block = 0;
  blockBytes = 0;
  byteLength = 0;
}

function pushByte(byte: number): void {
  block |= byte << (blockBytes << 3);
  byteLength++;
  if (++blockBytes < 4) return;
  hash ^= scramble(block);
  hash = (hash << 13) | (hash >>> 19);
  hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  block = 0;
  blockBytes = 0;
}

function pushString(text: string): void {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      pushByte(code);
      continue;
    }
    if (code < 0x800) {
      pushByte(0xc0 | (code >> 6));
      pushByte(0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
        pushByte(0xf0 | (point >> 18));
        pushByte(0x80 | ((point >> 12) & 0x3f));
        pushByte(0x80 | ((point >> 6) & 0x3f));
        pushByte(0x80 | (point & 0x3f));
        continue;
      }
      // A lone surrogate has no UTF-8 form; TextEncoder and Buffer write U+FFFD, and so do we.
      code = 0xfffd;
    }
    pushByte(0xe0 | (code >> 12));
    pushByte(0x80 | ((code >> 6) & 0x3f));
    pushByte(0x80 | (code & 0x3f));
  }
}

function finish(): number {
  if (blockBytes > 0) hash ^= scramble(block);
  let h = hash ^ byteLength;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}
