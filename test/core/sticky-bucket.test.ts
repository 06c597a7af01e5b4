import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKET_COUNT, bucketOf, inRollout, murmurHash3 } from '../../src/core/sticky-bucket.js';

/**
 * The vectors are the published MurmurHash3 x86 32-bit values (SMHasher; the
 * same as Python's `mmh3.hash(s, seed, signed=False)`), so a flag SDK in any
 * language can check itself against the same table.
 */
const VECTORS: [input: string, seed: number, hash: number][] = [
  ['', 0, 0],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['a', 0, 0x3c2569b2],
  ['ab', 0, 0x9bbfd75f],
  ['abc', 0, 0xb3dd93fa],
  ['abcd', 0, 0x43ed676a],
  ['test', 0, 0xba6bd213],
  ['hello', 0, 0x248bfa47],
  ['Hello, world!', 1234, 0xfaf6cdb3],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ['é', 7, 0x129d2dd6],
  ['héllo wörld €𝄞', 0, 0x8928d2e1],
];

describe('murmur3 x86 32-bit', () => {
  it('matches the published vectors', () => {
    for (const [input, seed, hash] of VECTORS) {
      assert.equal(murmurHash3(input, seed), hash, `murmur3(${JSON.stringify(input)}, ${seed})`);
      assert.equal(
        murmurHash3(Buffer.from(input, 'utf8'), seed),
        hash,
        `murmur3(bytes of ${JSON.stringify(input)}, ${seed})`,
      );
    }
  });

  it('hashes a string as its UTF-8 bytes, a lone surrogate as U+FFFD', () => {
    const samples = ['ascii only', 'ü', '日本語', '🙂 emoji', 'mixed é 中 🚀 end', '\ud800', 'a\udc00b', 'tail\ud83d'];
    for (let n = 0; n < 200; n++) {
      let text = '';
      for (let i = 0; i < n % 13; i++) text += String.fromCharCode((n * 7919 + i * 104729) % 0xffff);
      samples.push(text);
    }
    for (const text of samples) {
      assert.equal(murmurHash3(text, 42), murmurHash3(Buffer.from(text, 'utf8'), 42), JSON.stringify(text));
    }
  });
});

describe('sticky buckets', () => {
  it('buckets `${salt}:${key}` into 0..9999', () => {
    assert.equal(bucketOf('u42', 'web'), 0x7866cc1d % BUCKET_COUNT);
    assert.equal(bucketOf('u42', 'web'), 2845);
    assert.notEqual(bucketOf('u42', 'api'), bucketOf('u42', 'web'), 'another salt, another bucket');
  });

  it('spreads 100,000 keys evenly over the buckets', () => {
    const bins = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const bucket = bucketOf(`u${i}`, 'web');
      assert.ok(bucket >= 0 && bucket < BUCKET_COUNT && Number.isInteger(bucket));
      bins[Math.floor(bucket / 100)]! += 1;
    }
    // Pearson's chi-square over 100 bins of 1,000 expected: 99 degrees of freedom, 148.2 is the 0.1 % critical value.
    const chiSquare = bins.reduce((sum, count) => sum + (count - 1000) ** 2 / 1000, 0);
    assert.ok(chiSquare < 148.2, `chi-square ${chiSquare.toFixed(1)}`);
    for (const percent of [1, 5, 25, 50, 90]) {
      const share = bins.slice(0, percent).reduce((a, b) => a + b, 0) / 1000;
      assert.ok(Math.abs(share - percent) < 0.5, `${share.toFixed(2)} % of keys under ${percent} %`);
    }
  });

  it('only adds keys as the percentage rises', () => {
    const percents = [0, 0.5, 1, 5, 10, 25, 50, 75, 99.99, 100];
    for (let i = 0; i < 5_000; i++) {
      const key = `client-${i}`;
      let wasIn = false;
      for (const percent of percents) {
        const isIn = inRollout(key, 'checkout', percent);
        assert.ok(isIn || !wasIn, `${key} left the rollout at ${percent} %`);
        wasIn = isIn;
      }
      assert.equal(inRollout(key, 'checkout', 0), false);
      assert.equal(inRollout(key, 'checkout', 100), true);
    }
  });

  it('fractional percentages admit exactly their share of buckets (no floating-point extra bucket)', () => {
    let admitted007 = 0;
    let admitted11 = 0;
    for (let i = 0; i < 200_000; i++) {
      const key = `k${i}`;
      const bucket = bucketOf(key, 'frac');
      if (inRollout(key, 'frac', 0.07)) {
        admitted007++;
        assert.ok(bucket < 7);
      }
      if (inRollout(key, 'frac', 1.1)) {
        admitted11++;
        assert.ok(bucket < 110);
      }
    }
    assert.ok(admitted007 > 0 && admitted11 > admitted007);
  });
});
