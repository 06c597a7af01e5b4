import { fisherExactGreater } from './fisher-exact.js';
import { mannWhitneyU } from './mann-whitney.js';
import { twoProportionZTest, zTestApproximationHolds, type ErrorCounts } from './two-proportion.js';

/**
 * Judges a canary against the baseline that serves traffic beside it over the
 * same window (so both saw the same load, time of day and dependencies):
 *
 * - latency: Mann-Whitney U, one-sided "canary slower", on sampled latencies;
 * - errors: one-sided "canary worse" on error counts, by the two-proportion
 *   z-test, or Fisher's exact test when the counts are too small for it.
 *
 * A check fails only when the difference is both statistically significant
 * (p < alpha) and large enough to matter (canary median >= maxLatencyRatio x
 * the baseline's; error rate >= maxErrorRateIncrease above the baseline's),
 * so thousands of requests do not fail a deploy over a 2% latency shift.
 * With fewer than minSamples on either side it refuses to decide.
 *
 * The two checks each run at alpha, so two identical versions fail at most
 * ~2 alpha of the time from chance, and in practice far less because the
 * practical thresholds must also be crossed.
 *
 * Pure and deterministic: the same observations give the same judgement.
 */
export interface SideObservations {
  /** Sampled request latencies in ms over the window (see latency-sample.ts). */
  latenciesMs: readonly number[];
  /** Requests counted over the window (all of them, not only the sampled ones). */
  requests: number;
  /** Of those, the requests that count as errors (e.g. 5xx and proxy failures). */
  errors: number;
}

export interface JudgeOptions {
  /** Latency samples and requests needed on each side before judging. */
  minSamples: number;
  /** Significance level of each test (one-sided). */
  alpha: number;
  /** Latency fails only if the canary median is at least this multiple of the baseline median. */
  maxLatencyRatio: number;
  /** Errors fail only if the canary error rate is at least this much higher (absolute: 0.01 = 1 point). */
  maxErrorRateIncrease: number;
}

export const DEFAULT_JUDGE_OPTIONS: Readonly<JudgeOptions> = {
  minSamples: 50,
  alpha: 0.01,
  maxLatencyRatio: 1.5,
  maxErrorRateIncrease: 0.01,
};

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface SideStats {
  samples: number;
  requests: number;
  errors: number;
  /** null without requests. */
  errorRate: number | null;
  /** null without samples. */
  medianMs: number | null;
}

export interface LatencyComparison {
  u: number;
  z: number;
  pValue: number;
  /** canary median / baseline median (a baseline median of 0 counts as 1 µs, so this stays finite). */
  medianRatio: number;
  significant: boolean;
  regressed: boolean;
}

export interface ErrorRateComparison {
  test: 'z-test' | 'fisher-exact';
  /** The z statistic; null for Fisher's exact test. */
  z: number | null;
  pValue: number;
  /** canary error rate - baseline error rate. */
  increase: number;
  significant: boolean;
  regressed: boolean;
}

export interface BaselineJudgement {
  verdict: Verdict;
  /** One line per check (or per missing sample), for the release history and the CLI. */
  reasons: string[];
  stats: {
    canary: SideStats;
    baseline: SideStats;
    /** null when the judge refused to decide. */
    latency: LatencyComparison | null;
    errorRate: ErrorRateComparison | null;
  };
}

export interface JudgeInput {
  canary: SideObservations;
  baseline: SideObservations;
  options?: Partial<JudgeOptions>;
}

/** Keeps the ratio finite when the baseline median is 0 ms. */
const SMALLEST_MEDIAN_MS = 0.001;

export function judgeAgainstBaseline(input: JudgeInput): BaselineJudgement {
  const options = resolveOptions(input.options);
  checkObservations(input.canary, 'canary');
  checkObservations(input.baseline, 'baseline');
  const stats = {
    canary: sideStats(input.canary),
    baseline: sideStats(input.baseline),
    latency: null,
    errorRate: null,
  };

  const missing = [
    ...missingSamples('canary', input.canary, options),
    ...missingSamples('baseline', input.baseline, options),
  ];
  if (missing.length > 0) return { verdict: 'inconclusive', reasons: missing, stats };

  const latency = compareLatency(input.canary.latenciesMs, input.baseline.latenciesMs, options);
  const errorRate = compareErrorRates(input.canary, input.baseline, options);
  const verdict: Verdict = latency.comparison.regressed || errorRate.comparison.regressed ? 'fail' : 'pass';
  return {
    verdict,
    reasons: [latency.reason, errorRate.reason],
    stats: { ...stats, latency: latency.comparison, errorRate: errorRate.comparison },
  };
}

function resolveOptions(partial: Partial<JudgeOptions> | undefined): JudgeOptions {
  const options = { ...DEFAULT_JUDGE_OPTIONS, ...partial };
  const valid =
    Number.isInteger(options.minSamples) &&
    options.minSamples >= 1 &&
    options.alpha > 0 &&
    options.alpha < 1 &&
    options.maxLatencyRatio > 0 &&
    Number.isFinite(options.maxLatencyRatio) &&
    options.maxErrorRateIncrease >= 0 &&
    options.maxErrorRateIncrease <= 1;
  if (!valid) {
    throw new RangeError(
      `invalid judge options ${JSON.stringify(options)}: minSamples must be a whole number >= 1, alpha in (0, 1), ` +
        'maxLatencyRatio a finite number > 0, maxErrorRateIncrease in [0, 1]',
    );
  }
  return options;
}

function checkObservations(side: SideObservations, name: string): void {
  const { requests, errors } = side;
  if (!Number.isInteger(requests) || !Number.isInteger(errors) || requests < 0 || errors < 0 || errors > requests) {
    throw new RangeError(
      `${name}: requests and errors must be whole numbers with 0 <= errors <= requests, got ${errors}/${requests}`,
    );
  }
  for (const ms of side.latenciesMs) {
    if (!(ms >= 0 && ms < Infinity)) throw new RangeError(`${name}: latencies must be finite and >= 0 ms, got ${ms}`);
  }
}

function missingSamples(name: string, side: SideObservations, options: JudgeOptions): string[] {
  const missing: string[] = [];
  const samples = side.latenciesMs.length;
  if (samples < options.minSamples) missing.push(`${name}: needs ≥ ${options.minSamples} samples, has ${samples}`);
  if (side.requests < options.minSamples)
    missing.push(`${name}: needs ≥ ${options.minSamples} requests, has ${side.requests}`);
  return missing;
}

function sideStats(side: SideObservations): SideStats {
  return {
    samples: side.latenciesMs.length,
    requests: side.requests,
    errors: side.errors,
    errorRate: side.requests > 0 ? side.errors / side.requests : null,
    medianMs: side.latenciesMs.length > 0 ? median(side.latenciesMs) : null,
  };
}

function compareLatency(
  canary: readonly number[],
  baseline: readonly number[],
  options: JudgeOptions,
): { comparison: LatencyComparison; reason: string } {
  const test = mannWhitneyU(canary, baseline, { alternative: 'greater' });
  const canaryMedian = median(canary);
  const baselineMedian = median(baseline);
  const medianRatio = canaryMedian / Math.max(baselineMedian, SMALLEST_MEDIAN_MS);
  const significant = test.pValue < options.alpha;
  const large = medianRatio >= options.maxLatencyRatio;
  const regressed = significant && large;
  const medians = `canary median ${ms(canaryMedian)} vs baseline ${ms(baselineMedian)} (${medianRatio.toFixed(2)}×, limit ${options.maxLatencyRatio}×)`;
  const evidence = `Mann-Whitney p = ${p(test.pValue)}`;
  let reason: string;
  if (regressed) reason = `latency regressed: ${medians}, significant (${evidence} < ${options.alpha})`;
  else if (significant)
    reason = `latency ok: canary is slower (${evidence} < ${options.alpha}) but by less than the limit: ${medians}`;
  else if (large) reason = `latency ok: ${medians}, but not significant (${evidence} ≥ ${options.alpha})`;
  else reason = `latency ok: ${medians}; ${evidence}`;
  return { comparison: { u: test.u, z: test.z, pValue: test.pValue, medianRatio, significant, regressed }, reason };
}

function compareErrorRates(
  canary: ErrorCounts,
  baseline: ErrorCounts,
  options: JudgeOptions,
): { comparison: ErrorRateComparison; reason: string } {
  const zTest = twoProportionZTest(canary, baseline);
  const exact = !zTestApproximationHolds(canary, baseline);
  const pValue = exact ? fisherExactGreater(canary, baseline) : zTest.pValue;
  const increase = zTest.difference;
  const significant = pValue < options.alpha;
  const large = increase >= options.maxErrorRateIncrease;
  const regressed = significant && large;
  const rates =
    `canary ${percent(zTest.canaryRate)} (${canary.errors}/${canary.requests}) vs baseline ` +
    `${percent(zTest.baselineRate)} (${baseline.errors}/${baseline.requests}), ` +
    `${points(increase)} (limit +${(options.maxErrorRateIncrease * 100).toFixed(2)} points)`;
  const evidence = `${exact ? "Fisher's exact test" : 'z-test'} p = ${p(pValue)}`;
  let reason: string;
  if (regressed) reason = `error rate regressed: ${rates}, significant (${evidence} < ${options.alpha})`;
  else if (significant)
    reason = `error rate ok: canary errs more (${evidence} < ${options.alpha}) but by less than the limit: ${rates}`;
  else reason = `error rate ok: ${rates}; ${evidence}`;
  const comparison: ErrorRateComparison = {
    test: exact ? 'fisher-exact' : 'z-test',
    z: exact ? null : zTest.z,
    pValue,
    increase,
    significant,
    regressed,
  };
  return { comparison, reason };
}

/** The median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('the median of no values is undefined');
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ms = (value: number): string => `${Number(value.toPrecision(3))} ms`;
const p = (value: number): string => (value >= 0.001 ? value.toFixed(3) : value.toExponential(1));
const percent = (rate: number): string => `${(rate * 100).toFixed(2)}%`;
const points = (difference: number): string =>
  `${difference >= 0 ? '+' : '−'}${Math.abs(difference * 100).toFixed(2)} points`;
