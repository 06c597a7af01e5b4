import { standardNormalCdf, standardNormalSurvival } from './normal-distribution.js';

/**
 * The Mann-Whitney U test (Wilcoxon rank-sum test): is one sample
 * stochastically greater than another? It compares ranks, not values, so it
 * needs no assumption about the shape of the distribution, which is why
 * canary analysis uses it for latencies (long-tailed, never normal); Kayenta
 * judges canaries with the same test.
 *
 * `u` is U of the first sample: the number of pairs (x, y) with x > y, a tie
 * counting 1/2 (U1 = R1 - n1(n1+1)/2 from the rank sum R1 of x). The p-value
 * follows scipy.stats.mannwhitneyu (`use_continuity=True`):
 *
 * - exact: the null distribution of U counted by the recurrence
 *   c(m, n, u) = c(m-1, n, u-n) + c(m, n-1, u) (Mann & Whitney 1947), valid
 *   only without ties. `method: 'auto'` uses it when both samples have fewer
 *   than 20 observations and no value is tied, where the normal approximation
 *   is poor; the tables of critical values in textbooks are this distribution.
 * - asymptotic: z = (U1 - n1 n2 / 2 -/+ 1/2) / sigma, with the tie-corrected
 *   sigma^2 = n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))) where t runs
 *   over the sizes of the groups of tied values (Lehmann, Nonparametrics, 1975).
 *
 * Pure and deterministic; O(N log N) for the ranks.
 */
export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitneyOptions {
  /** `greater`: x tends to be larger than y (a slower canary); `less`: smaller. Default `two-sided`. */
  alternative?: Alternative;
  /** Default `auto` (see above). `exact` refuses ties and samples with n1 * n2 > 2500. */
  method?: 'auto' | 'exact' | 'asymptotic';
}

export interface MannWhitneyResult {
  /** U of the first sample (x). U of y is n1 * n2 - u. */
  u: number;
  /** The normal-approximation statistic (tie- and continuity-corrected), also given when the p-value is exact. */
  z: number;
  pValue: number;
  method: 'exact' | 'asymptotic';
  alternative: Alternative;
  n1: number;
  n2: number;
  /** Whether any value occurs more than once across both samples. */
  ties: boolean;
}

/** Below this many observations in both samples (and without ties), `auto` computes the exact p-value. */
export const EXACT_BELOW_SAMPLES = 20;
const EXACT_MAX_PAIRS = 2500;

export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyResult {
  const alternative = options.alternative ?? 'two-sided';
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0)
    throw new RangeError(`Mann-Whitney needs observations in both samples, got ${n1} and ${n2}`);
  const { rankSumX, tieTerm } = rankSum(x, y);
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const ties = tieTerm > 0;
  const z = asymptoticZ(u, n1, n2, tieTerm, alternative);

  const method = options.method ?? 'auto';
  const exact =
    method === 'exact' || (method === 'auto' && !ties && n1 < EXACT_BELOW_SAMPLES && n2 < EXACT_BELOW_SAMPLES);
  if (exact) {
    if (ties)
      throw new RangeError('the exact Mann-Whitney p-value needs samples without ties; use the asymptotic method');
    if (n1 * n2 > EXACT_MAX_PAIRS)
      throw new RangeError(`the exact Mann-Whitney p-value is limited to n1 * n2 <= ${EXACT_MAX_PAIRS}`);
    return { u, z, pValue: exactPValue(u, n1, n2, alternative), method: 'exact', alternative, n1, n2, ties };
  }
  return { u, z, pValue: asymptoticPValue(z, alternative), method: 'asymptotic', alternative, n1, n2, ties };
}

/**
 * The rank sum of x in the pooled sample (tied values get the mean of their
 * ranks) and sum(t^3 - t) over groups of ties, by merging the two sorted
 * samples instead of sorting tagged pairs.
 */
function rankSum(x: readonly number[], y: readonly number[]): { rankSumX: number; tieTerm: number } {
  const xs = sortedCopy(x, 'x');
  const ys = sortedCopy(y, 'y');
  let i = 0;
  let j = 0;
  let nextRank = 1;
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < xs.length || j < ys.length) {
    const value = Math.min(i < xs.length ? xs[i]! : Infinity, j < ys.length ? ys[j]! : Infinity);
    let fromX = 0;
    let fromY = 0;
    while (i < xs.length && xs[i] === value) {
      i++;
      fromX++;
    }
    while (j < ys.length && ys[j] === value) {
      j++;
      fromY++;
    }
    const t = fromX + fromY;
    const midRank = nextRank + (t - 1) / 2;
    rankSumX += fromX * midRank;
    if (t > 1) tieTerm += t * t * t - t;
    nextRank += t;
  }
  return { rankSumX, tieTerm };
}

function sortedCopy(values: readonly number[], name: string): Float64Array {
  const copy = Float64Array.from(values);
  for (const v of copy) {
    if (Number.isNaN(v)) throw new RangeError(`Mann-Whitney sample ${name} contains NaN`);
  }
  return copy.sort();
}

function asymptoticZ(u: number, n1: number, n2: number, tieTerm: number, alternative: Alternative): number {
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - (n > 1 ? tieTerm / (n * (n - 1)) : 0));
  // Every value tied: U says nothing.
  if (!(variance > 0)) return 0;
  const sigma = Math.sqrt(variance);
  const d = u - mean;
  if (alternative === 'greater') return (d - 0.5) / sigma;
  if (alternative === 'less') return (d + 0.5) / sigma;
  // Two-sided: shrink |d| by the correction, never past 0 (scipy clips p at 1 instead; same p).
  return (Math.sign(d) * Math.max(0, Math.abs(d) - 0.5)) / sigma;
}

function asymptoticPValue(z: number, alternative: Alternative): number {
  if (alternative === 'greater') return standardNormalSurvival(z);
  if (alternative === 'less') return standardNormalCdf(z);
  return Math.min(1, 2 * standardNormalSurvival(Math.abs(z)));
}

function exactPValue(u: number, n1: number, n2: number, alternative: Alternative): number {
  const frequencies = exactUFrequencies(n1, n2);
  let total = 0;
  let atMost = 0;
  let atLeast = 0;
  for (let k = 0; k < frequencies.length; k++) {
    const f = frequencies[k]!;
    total += f;
    if (k <= u) atMost += f;
    if (k >= u) atLeast += f;
  }
  if (alternative === 'greater') return atLeast / total;
  if (alternative === 'less') return atMost / total;
  return Math.min(1, (2 * Math.min(atLeast, atMost)) / total);
}

/**
 * How many of the C(n1 + n2, n1) orderings of the pooled sample give each U,
 * for U = 0 .. n1 n2. Consider the largest value: from x it beats all n2
 * values of y (U - n2 is left for the rest), from y it adds nothing. Only
 * additions, so the counts keep full relative precision in doubles.
 */
export function exactUFrequencies(n1: number, n2: number): Float64Array {
  // previous[j] holds c(i - 1, j, .); current[j] is built from current[j - 1] and previous[j].
  let previous: Float64Array[] = [];
  for (let j = 0; j <= n2; j++) previous.push(Float64Array.of(1));
  for (let i = 1; i <= n1; i++) {
    const current: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n2; j++) {
      const counts = new Float64Array(i * j + 1);
      const smallerY = current[j - 1]!;
      const smallerX = previous[j]!;
      for (let k = 0; k < smallerY.length; k++) counts[k] = smallerY[k]!;
      for (let k = 0; k < smallerX.length; k++) counts[k + j] = counts[k + j]! + smallerX[k]!;
      current.push(counts);
    }
    previous = current;
  }
  return previous[n2]!;
}
