import { checkCounts, type ErrorCounts } from './two-proportion.js';

/**
 * Fisher's exact test, one-sided "the canary's error rate is higher", for
 * error counts too small for the normal approximation of the two-proportion
 * z-test. Given the total number of errors K among N = n1 + n2 requests, the
 * canary's error count X is hypergeometric under H0 (errors fall on requests
 * regardless of side), and the p-value is P(X >= e1); this equals
 * scipy.stats.fisher_exact([[e1, n1 - e1], [e2, n2 - e2]], alternative='greater').
 *
 * The first probability comes from log-factorials, the rest of the tail from
 * the ratio pmf(k + 1) / pmf(k) = (K - k)(n1 - k) / ((k + 1)(N - K - n1 + k + 1)),
 * so the cost is one pass over the tail, stopped once the terms no longer
 * change the sum. When e1 is at or below the mode, the p-value is
 * 1 - P(X < e1), summed downwards the same way.
 */
export function fisherExactGreater(canary: ErrorCounts, baseline: ErrorCounts): number {
  checkCounts(canary, 'canary');
  checkCounts(baseline, 'baseline');
  const n1 = canary.requests;
  const total = canary.requests + baseline.requests;
  const errors = canary.errors + baseline.errors;
  const successes = total - errors;
  const lowest = Math.max(0, n1 - successes);
  const highest = Math.min(errors, n1);
  const logPmf = (k: number): number => logChoose(errors, k) + logChoose(successes, n1 - k) - logChoose(total, n1);
  // Sum whichever tail lies away from the mode, so the first term is the
  // largest one summed (or underflows only when the whole tail is negligible).
  const mode = Math.floor(((n1 + 1) * (errors + 1)) / (total + 2));
  if (canary.errors > mode) {
    let sum = 0;
    let term = Math.exp(logPmf(canary.errors));
    for (let k = canary.errors; k <= highest; k++) {
      sum += term;
      if (term <= sum * 1e-17) break;
      term *= ((errors - k) * (n1 - k)) / ((k + 1) * (successes - n1 + k + 1));
    }
    return Math.min(1, sum);
  }
  let below = 0;
  let term = canary.errors - 1 >= lowest ? Math.exp(logPmf(canary.errors - 1)) : 0;
  for (let k = canary.errors - 1; k >= lowest; k--) {
    below += term;
    if (term <= below * 1e-17) break;
    term *= (k * (successes - n1 + k)) / ((errors - k + 1) * (n1 - k + 1));
  }
  return Math.min(1, Math.max(0, 1 - below));
}

/** ln(n choose k). */
export function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const TABLE_SIZE = 256;
const LOG_FACTORIALS: Float64Array = (() => {
  const table = new Float64Array(TABLE_SIZE);
  for (let n = 2; n < TABLE_SIZE; n++) table[n] = table[n - 1]! + Math.log(n);
  return table;
})();

/**
 * ln(n!): a table below 256, above it Stirling's series
 * ln n! = n ln n - n + ln(2 pi n)/2 + 1/(12n) - 1/(360n^3) + 1/(1260n^5) - ...
 * (A&S 6.1.41), whose next term, 1/(1680 n^7), is below 1e-19 there.
 */
export function logFactorial(n: number): number {
  if (n < TABLE_SIZE) return LOG_FACTORIALS[n]!;
  const inverse = 1 / n;
  const inverse2 = inverse * inverse;
  return (
    n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + inverse * (1 / 12 - inverse2 * (1 / 360 - inverse2 / 1260))
  );
}
