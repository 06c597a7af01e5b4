import { standardNormalSurvival } from './normal-distribution.js';

/**
 * Is the canary's error rate higher than the baseline's? The one-sided
 * two-proportion z-test with the pooled standard error (the textbook test
 * under H0: both sides share one error rate p):
 *
 *   p = (e1 + e2) / (n1 + n2),  SE = sqrt(p (1 - p) (1/n1 + 1/n2)),
 *   z = (e1/n1 - e2/n2) / SE,   p-value = P(Z > z).
 *
 * The normal approximation needs enough expected errors and successes on each
 * side (Cochran's rule: all four expected counts >= 5, see
 * `zTestApproximationHolds`); with fewer, one error in 50 canary requests
 * against none in 1000 would give z = 4.5 (p = 4e-6) where the exact
 * probability is 0.048. The baseline judge then uses Fisher's exact test
 * (fisher-exact.ts) instead.
 *
 * Degenerate inputs never produce NaN: SE is 0 only when both sides have no
 * errors at all or nothing but errors, where there is no evidence of a
 * difference, so z = 0 and the p-value is 1.
 */
export interface ErrorCounts {
  errors: number;
  requests: number;
}

export interface TwoProportionResult {
  canaryRate: number;
  baselineRate: number;
  /** canaryRate - baselineRate (absolute, 0.01 = one percentage point). */
  difference: number;
  pooledRate: number;
  standardError: number;
  z: number;
  /** One-sided: the probability of a difference at least this large if the canary were no worse. */
  pValue: number;
}

export function twoProportionZTest(canary: ErrorCounts, baseline: ErrorCounts): TwoProportionResult {
  checkCounts(canary, 'canary');
  checkCounts(baseline, 'baseline');
  const canaryRate = canary.errors / canary.requests;
  const baselineRate = baseline.errors / baseline.requests;
  const difference = canaryRate - baselineRate;
  const pooledRate = (canary.errors + baseline.errors) / (canary.requests + baseline.requests);
  const standardError = Math.sqrt(pooledRate * (1 - pooledRate) * (1 / canary.requests + 1 / baseline.requests));
  if (!(standardError > 0)) {
    return { canaryRate, baselineRate, difference, pooledRate, standardError: 0, z: 0, pValue: 1 };
  }
  const z = difference / standardError;
  return { canaryRate, baselineRate, difference, pooledRate, standardError, z, pValue: standardNormalSurvival(z) };
}

/** Cochran's rule of thumb for the z-test: every expected count (errors and successes, each side) is at least 5. */
export function zTestApproximationHolds(canary: ErrorCounts, baseline: ErrorCounts): boolean {
  const pooledRate = (canary.errors + baseline.errors) / (canary.requests + baseline.requests);
  return [canary.requests, baseline.requests].every(
    (requests) => requests * pooledRate >= 5 && requests * (1 - pooledRate) >= 5,
  );
}

/** Counts must be whole, non-negative, with at least one request and no more errors than requests. */
export function checkCounts(counts: ErrorCounts, side: string): void {
  const { errors, requests } = counts;
  if (!Number.isInteger(requests) || !Number.isInteger(errors) || requests < 1 || errors < 0 || errors > requests) {
    throw new RangeError(
      `${side} error counts must be whole numbers with 0 <= errors <= requests and requests >= 1, got ${errors}/${requests}`,
    );
  }
}
