import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencySample } from '../../../src/core/analysis/latency-sample.js';
import { mulberry32 } from '../../../src/core/analysis/seeded-random.js';

describe('latency sample (reservoir)', () => {
  it('keeps everything until it is full, then at most its capacity', () => {
    const sample = new LatencySample(3, mulberry32(1));
    sample.record(5);
    sample.record(7);
    assert.deepEqual(sample.samples(), [5, 7]);
    for (let i = 0; i < 1000; i++) sample.record(i);
    assert.equal(sample.samples().length, 3);
    assert.equal(sample.seen, 1002);
  });

  it('is reproducible with the same seed and differs with another', () => {
    const fill = (seed: number): number[] => {
      const sample = new LatencySample(50, mulberry32(seed));
      for (let i = 0; i < 10_000; i++) sample.record(i);
      return sample.samples();
    };
    assert.deepEqual(fill(42), fill(42));
    assert.notDeepEqual(fill(42), fill(43));
  });

  it('keeps a uniform sample: each value is equally likely to stay', () => {
    // 20 000 reservoirs of 10 out of 100 values: each value should be kept 2 000 times.
    const kept = new Array<number>(100).fill(0);
    const random = mulberry32(7);
    for (let trial = 0; trial < 20_000; trial++) {
      const sample = new LatencySample(10, random);
      for (let value = 0; value < 100; value++) sample.record(value);
      for (const value of sample.samples()) kept[value]!++;
    }
    // Binomial(20 000, 0.1): sd = 42; 6 sd either way is a bug, not bad luck.
    for (const [value, count] of kept.entries())
      assert.ok(Math.abs(count - 2000) < 252, `value ${value} kept ${count} times`);
    const firstHalf = kept.slice(0, 50).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(firstHalf - 100_000) < 1500, `early values are not favoured: ${firstHalf}`);
  });

  it('starts a new window on reset and refuses a capacity below 1', () => {
    const sample = new LatencySample(4, mulberry32(1));
    for (let i = 0; i < 10; i++) sample.record(i);
    sample.reset();
    assert.equal(sample.seen, 0);
    assert.deepEqual(sample.samples(), []);
    sample.record(99);
    assert.deepEqual(sample.samples(), [99]);
    assert.throws(() => new LatencySample(0, Math.random), RangeError);
  });

  it('mulberry32 gives the reference sequence and stays in [0, 1)', () => {
    // The first outputs of the reference implementation (bryc/code, PRNGs.md) seeded with 0, times 2^32.
    const random = mulberry32(0);
    const first = [random(), random(), random()];
    assert.deepEqual(
      first.map((v) => v * 4294967296),
      [1144304738, 1416247, 958946056],
    );
    const more = mulberry32(123);
    for (let i = 0; i < 10_000; i++) {
      const v = more();
      assert.ok(v >= 0 && v < 1);
    }
  });
});
