import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fisherExactGreater, logFactorial } from '../../../src/core/analysis/fisher-exact.js';
import { twoProportionZTest, zTestApproximationHolds } from '../../../src/core/analysis/two-proportion.js';

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('two-proportion z-test (canary worse)', () => {
  it('matches a hand-computed example', () => {
    // 12/100 vs 6/100: pooled 0.09, SE = sqrt(0.09 * 0.91 * (1/100 + 1/100)) = 0.040472,
    // z = 0.06 / SE = 1.4825, one-sided p = 0.0691 (scipy.stats.norm.sf).
    const result = twoProportionZTest({ errors: 12, requests: 100 }, { errors: 6, requests: 100 });
    assertClose(result.pooledRate, 0.09, 1e-15, 'pooled');
    assertClose(result.z, 1.482498633322202, 1e-13, 'z');
    assertClose(result.pValue, 0.06910383348701292, 1e-12, 'p');
    assertClose(result.difference, 0.06, 1e-14, 'difference');
  });

  it('is decisive for 20% against 0.5%', () => {
    const result = twoProportionZTest({ errors: 40, requests: 200 }, { errors: 5, requests: 1000 });
    assertClose(result.z, 13.250826977378265, 1e-13, 'z');
    assertClose(result.pValue, 2.2312926121331464e-40, 1e-10, 'p far in the tail');
  });

  it('is one-sided: a canary with fewer errors is no evidence of harm', () => {
    const result = twoProportionZTest({ errors: 0, requests: 500 }, { errors: 50, requests: 500 });
    assert.ok(result.z < 0);
    assert.ok(result.pValue > 0.99);
  });

  it('never gives NaN: no errors on either side, or nothing but errors', () => {
    for (const [canary, baseline] of [
      [0, 0],
      [100, 1000],
    ] as const) {
      const result = twoProportionZTest({ errors: canary, requests: 100 }, { errors: baseline, requests: 1000 });
      assert.deepEqual(
        { z: result.z, pValue: result.pValue, standardError: result.standardError, difference: result.difference },
        { z: 0, pValue: 1, standardError: 0, difference: 0 },
      );
    }
  });

  it('refuses impossible counts', () => {
    assert.throws(() => twoProportionZTest({ errors: 5, requests: 4 }, { errors: 0, requests: 1 }), RangeError);
    assert.throws(() => twoProportionZTest({ errors: 0, requests: 0 }, { errors: 0, requests: 1 }), RangeError);
    assert.throws(() => twoProportionZTest({ errors: 0.5, requests: 10 }, { errors: 0, requests: 1 }), RangeError);
  });

  it('knows when its normal approximation holds (Cochran: every expected count >= 5)', () => {
    assert.equal(zTestApproximationHolds({ errors: 40, requests: 200 }, { errors: 5, requests: 1000 }), true);
    assert.equal(zTestApproximationHolds({ errors: 1, requests: 50 }, { errors: 0, requests: 1000 }), false);
    assert.equal(zTestApproximationHolds({ errors: 0, requests: 50 }, { errors: 0, requests: 50 }), false);
  });
});

describe("Fisher's exact test (canary worse)", () => {
  it('reproduces the lady tasting tea: [[3, 1], [1, 3]] gives 17/70', () => {
    assertClose(fisherExactGreater({ errors: 3, requests: 4 }, { errors: 1, requests: 4 }), 17 / 70, 1e-14, 'p');
  });

  it('does not panic over one error in a small canary, where the z-test would', () => {
    const canary = { errors: 1, requests: 50 };
    const baseline = { errors: 0, requests: 1000 };
    // The single error lands among the canary's 50 of 1050 requests with probability 50/1050.
    assertClose(fisherExactGreater(canary, baseline), 50 / 1050, 1e-12, 'exact');
    assert.ok(twoProportionZTest(canary, baseline).pValue < 1e-5, 'the normal approximation overstates it');
  });

  it('agrees with scipy.stats.fisher_exact on a lopsided table and stays in [0, 1]', () => {
    assertClose(
      fisherExactGreater({ errors: 5, requests: 50 }, { errors: 2, requests: 1000 }),
      3.92590165675008e-6,
      1e-9,
      'p',
    );
    assert.equal(fisherExactGreater({ errors: 0, requests: 50 }, { errors: 0, requests: 50 }), 1);
    assert.equal(fisherExactGreater({ errors: 50, requests: 50 }, { errors: 50, requests: 50 }), 1);
    const fewer = fisherExactGreater({ errors: 0, requests: 1_000_000 }, { errors: 100_000, requests: 1_000_000 });
    assert.equal(fewer, 1, 'far below the mode the p-value is 1, not an underflowed 0');
  });

  it('computes log-factorials across the table and Stirling ranges', () => {
    assert.equal(logFactorial(0), 0);
    assertClose(logFactorial(10), Math.log(3628800), 1e-15, '10!');
    let sum = 0;
    for (let n = 2; n <= 300; n++) sum += Math.log(n);
    assertClose(logFactorial(300), sum, 1e-13, '300!');
  });
});
