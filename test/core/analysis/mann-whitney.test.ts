import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactUFrequencies, mannWhitneyU } from '../../../src/core/analysis/mann-whitney.js';
import { mulberry32 } from '../../../src/core/analysis/seeded-random.js';
import { logNormalLatencies } from './random-latencies.js';

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('Mann-Whitney U', () => {
  // The example of the scipy.stats.mannwhitneyu documentation (ages at which
  // type II diabetes was diagnosed). By hand: pooled ranks of the males are
  // 3, 5, 7, 8, 9, so R1 = 32 and U1 = 32 - 5*6/2 = 17 of n1*n2 = 20 pairs.
  // Exact: U <= 3 has 1+1+2+3 = 7 of C(9,4) = 126 orderings, two-sided
  // p = 2*7/126 = 0.1111. Normal: z = (17 - 10 - 0.5) / sqrt(5*4*10/12) = 1.592,
  // p = 0.11134688653314041 (scipy, method='asymptotic').
  const males = [19, 22, 16, 29, 24];
  const females = [20, 11, 17, 12];

  it('reproduces the exact textbook p-value for small samples', () => {
    const result = mannWhitneyU(males, females);
    assert.equal(result.u, 17);
    assert.equal(result.method, 'exact');
    assertClose(result.pValue, 14 / 126, 1e-14, 'two-sided exact');
    assertClose(mannWhitneyU(males, females, { alternative: 'greater' }).pValue, 7 / 126, 1e-14, 'greater');
    // P(U <= 17) = 1 - P(U >= 18) = 1 - P(U <= 2) by symmetry = 1 - 4/126.
    assertClose(mannWhitneyU(males, females, { alternative: 'less' }).pValue, 122 / 126, 1e-14, 'less');
  });

  it('reproduces the normal approximation with continuity correction', () => {
    const result = mannWhitneyU(males, females, { method: 'asymptotic' });
    assert.equal(result.method, 'asymptotic');
    assertClose(result.z, 6.5 / Math.sqrt(50 / 3), 1e-14, 'z');
    assertClose(result.pValue, 0.11134688653314041, 1e-12, 'p');
  });

  it('counts the exact null distribution of U (table of Mann & Whitney 1947)', () => {
    // n1 = 5, n2 = 4: partitions of U into at most 5 parts no larger than 4, symmetric around 10.
    assert.deepEqual(
      Array.from(exactUFrequencies(5, 4)),
      [1, 1, 2, 3, 5, 6, 8, 9, 11, 11, 12, 11, 11, 9, 8, 6, 5, 3, 2, 1, 1],
    );
    const total = Array.from(exactUFrequencies(10, 10)).reduce((a, b) => a + b, 0);
    assert.equal(total, 184756, 'C(20, 10) orderings');
  });

  it('agrees with the printed critical values for n1 = n2 = 10 (U <= 23 at 0.05, U <= 16 at 0.01, two-sided)', () => {
    const withU = (u: number): number[] => {
      // Pool the values 0..19. The i-th smallest x with b_i values of y below it sits at
      // i + b_i, and U = sum(b_i): give the largest x's as many y's below as possible.
      const ranks = new Set<number>();
      let remaining = u;
      for (let i = 9; i >= 0; i--) {
        const beaten = Math.min(10, remaining);
        remaining -= beaten;
        ranks.add(i + beaten);
      }
      return [...ranks];
    };
    const pValue = (u: number): number => {
      const x = withU(u);
      const y = Array.from({ length: 20 }, (_, v) => v).filter((v) => !x.includes(v));
      const result = mannWhitneyU(x, y);
      assert.equal(result.u, u);
      assert.equal(result.method, 'exact');
      return result.pValue;
    };
    assert.ok(pValue(23) <= 0.05 && pValue(24) > 0.05, `${pValue(23)} ${pValue(24)}`);
    assert.ok(pValue(16) <= 0.01 && pValue(17) > 0.01, `${pValue(16)} ${pValue(17)}`);
    assertClose(pValue(23), (2 * 3996) / 184756, 1e-14, 'P(U <= 23) doubled');
  });

  it('corrects the variance for ties (hand-computed)', () => {
    // Pooled: 1 | 2 2 2 | 3 3 3 3 | 4 4 | 5 -> mid-ranks 1, 3, 6.5, 9.5, 11.
    // R(x) = 1 + 2*3 + 3*6.5 = 26.5, U = 26.5 - 21 = 5.5, mean 15.
    // Ties: sum(t^3 - t) = 24 + 60 + 6 = 90; var = 30/12 * (12 - 90/110) = 27.9545...
    // less: z = (5.5 - 15 + 0.5) / sqrt(var) = -1.70222, p = 0.04435684599838808 (scipy agrees).
    const x = [1, 2, 2, 3, 3, 3];
    const y = [2, 3, 4, 4, 5];
    const less = mannWhitneyU(x, y, { alternative: 'less' });
    assert.equal(less.u, 5.5);
    assert.equal(less.ties, true);
    assert.equal(less.method, 'asymptotic', 'ties rule out the exact distribution');
    assertClose(less.z, -9 / Math.sqrt(2.5 * (12 - 90 / 110)), 1e-14, 'z');
    assertClose(less.pValue, 0.04435684599838808, 1e-12, 'less');
    assertClose(mannWhitneyU(x, y).pValue, 0.08871369199677616, 1e-12, 'two-sided');
    assertClose(mannWhitneyU(x, y, { alternative: 'greater' }).pValue, 0.970711726568604, 1e-12, 'greater');
    assert.throws(() => mannWhitneyU(x, y, { method: 'exact' }), /ties/);
  });

  it('is symmetric: swapping the samples mirrors U and swaps greater and less', () => {
    const random = mulberry32(11);
    const a = logNormalLatencies(random, 60, 100);
    const b = logNormalLatencies(random, 45, 120);
    const ab = mannWhitneyU(a, b, { alternative: 'greater' });
    const ba = mannWhitneyU(b, a, { alternative: 'less' });
    assert.equal(ab.u + mannWhitneyU(b, a).u, 60 * 45);
    assertClose(ab.pValue, ba.pValue, 1e-14, 'greater(a, b) = less(b, a)');
    assertClose(mannWhitneyU(a, b).pValue, mannWhitneyU(b, a).pValue, 1e-14, 'two-sided');
    assert.equal(ab.z, -ba.z);
  });

  it('finds no difference between a sample and itself, and a clear one between shifted samples', () => {
    const random = mulberry32(3);
    const a = logNormalLatencies(random, 200, 100);
    const same = mannWhitneyU(a, a.slice().reverse());
    assert.equal(same.u, (200 * 200) / 2);
    assert.equal(same.pValue, 1);
    const slower = a.map((ms) => ms * 3);
    assert.ok(mannWhitneyU(slower, a, { alternative: 'greater' }).pValue < 1e-20);
    assert.ok(mannWhitneyU(slower, a, { alternative: 'less' }).pValue > 0.999);
  });

  it('says nothing (p = 1) when every value is tied, and refuses empty samples or NaN', () => {
    const allTied = mannWhitneyU(
      [5, 5, 5],
      Array.from({ length: 30 }, () => 5),
    );
    assert.equal(allTied.z, 0);
    assert.equal(allTied.pValue, 1);
    assert.throws(() => mannWhitneyU([], [1]), RangeError);
    assert.throws(() => mannWhitneyU([1, Number.NaN], [1]), /NaN/);
  });
});
