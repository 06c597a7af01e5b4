import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  erf,
  erfc,
  standardNormalCdf,
  standardNormalSurvival,
} from '../../../src/core/analysis/normal-distribution.js';

// Reference values from scipy.stats.norm (Cephes) / mpmath at 40 digits.
const CDF: [number, number][] = [
  [-10, 7.61985302416047e-24],
  [-5, 2.866515718791933e-7],
  [-3, 0.0013498980316300933],
  [-2.5758293035489, 0.005],
  [-1.959963984540054, 0.025],
  [-1, 0.15865525393145707],
  [0, 0.5],
  [1, 0.8413447460685429],
  [1.6448536269514722, 0.95],
  [3, 0.9986501019683699],
];

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('standard normal distribution', () => {
  it('matches reference values of the CDF to 1e-12 relative, far into the lower tail', () => {
    for (const [z, expected] of CDF) assertClose(standardNormalCdf(z), expected, 1e-12, `cdf(${z})`);
  });

  it('keeps relative precision in the upper tail where 1 - cdf would round to 0', () => {
    assertClose(standardNormalSurvival(10), 7.61985302416047e-24, 1e-12, 'sf(10)');
    assertClose(standardNormalSurvival(13.250826977378265), 2.2312926121331464e-40, 1e-11, 'sf(13.25)');
    assert.equal(1 - standardNormalCdf(10), 0, 'the naive complement loses it, which is why survival exists');
  });

  it('is symmetric and monotone', () => {
    let previous = 0;
    for (let z = -8; z <= 8; z += 0.01) {
      const p = standardNormalCdf(z);
      assert.ok(p >= previous, `cdf not monotone at ${z}`);
      assertClose(p + standardNormalCdf(-z), 1, 1e-15, `symmetry at ${z}`);
      previous = p;
    }
  });

  // Reference values from mpmath at 30 digits.
  it('computes erf and erfc on both sides of the switch between series and continued fraction', () => {
    assertClose(erf(0.5), 0.5204998778130465, 1e-15, 'erf(0.5)');
    assertClose(erfc(1.4999999), 0.03389486541771999, 1e-13, 'erfc just below 1.5 (series)');
    assertClose(erfc(1.5), 0.033894853524689274, 1e-13, 'erfc(1.5)');
    assertClose(erfc(2.5), 4.069520174449589e-4, 1e-13, 'erfc(2.5)');
    assertClose(erfc(-1), 1.8427007929497148, 1e-15, 'erfc(-1)');
    assert.equal(erf(0), 0);
    assert.ok(Number.isNaN(erfc(Number.NaN)));
  });
});
