/**
 * A fixed-bucket latency histogram, the shape Prometheus uses: `counts[i]`
 * holds the observations in (bucketsMs[i-1], bucketsMs[i]], and one extra
 * last count holds everything above the last bound (+Inf). Fixed buckets keep
 * `record` allocation-free and make two snapshots subtractable, which is how
 * analysis gets the latency of one window out of cumulative counters.
 *
 * Pure: no I/O, no clock. The caller measures and passes milliseconds.
 */
export interface LatencySnapshot {
  /** Upper bounds in ms, ascending; the +Inf bucket is implicit (not listed, so the snapshot is valid JSON). */
  bucketsMs: number[];
  /** `bucketsMs.length + 1` counts; the last one is the +Inf bucket. Not cumulative. */
  counts: number[];
  sumMs: number;
  count: number;
}

export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

export class LatencyHistogram {
  readonly bucketsMs: readonly number[];
  private readonly counts: Float64Array;
  private sumMs = 0;
  private total = 0;

  constructor(bucketsMs: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS) {
    for (let i = 1; i < bucketsMs.length; i++) {
      if (!((bucketsMs[i] as number) > (bucketsMs[i - 1] as number))) {
        throw new RangeError(`latency buckets must be strictly ascending, got ${bucketsMs.join(', ')}`);
      }
    }
    this.bucketsMs = bucketsMs.slice();
    this.counts = new Float64Array(bucketsMs.length + 1);
  }

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    const bounds = this.bucketsMs;
    // Linear scan: almost every request lands in the first few buckets.
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sumMs += value;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Estimated latency at quantile `q` (0..1); see `estimatePercentile`. */
  percentile(q: number): number {
    return estimatePercentile(this.snapshot(), q);
  }

  snapshot(): LatencySnapshot {
    return { bucketsMs: this.bucketsMs.slice(), counts: Array.from(this.counts), sumMs: this.sumMs, count: this.total };
  }

  reset(): void {
    this.counts.fill(0);
    this.sumMs = 0;
    this.total = 0;
  }
}

/**
 * Estimates the latency at quantile `q` by linear interpolation inside the
 * bucket that holds it (as Prometheus' histogram_quantile does). Observations
 * in the +Inf bucket are reported as the last finite bound: the histogram
 * cannot say more. Returns NaN for an empty histogram.
 */
export function estimatePercentile(snapshot: LatencySnapshot, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be between 0 and 1, got ${q}`);
  const { bucketsMs, counts } = snapshot;
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i] as number;
    if (inBucket === 0) continue;
    if (cumulative + inBucket >= rank) {
      if (i >= bucketsMs.length) return bucketsMs[bucketsMs.length - 1] ?? 0;
      const lower = i === 0 ? 0 : (bucketsMs[i - 1] as number);
      const upper = bucketsMs[i] as number;
      return lower + ((upper - lower) * (rank - cumulative)) / inBucket;
    }
    cumulative += inBucket;
  }
  return bucketsMs[bucketsMs.length - 1] ?? 0;
}

/** Mean latency of a snapshot, NaN when empty. */
export function meanLatency(snapshot: LatencySnapshot): number {
  return snapshot.count === 0 ? Number.NaN : snapshot.sumMs / snapshot.count;
}

/**
 * The observations made between two snapshots of the same histogram
 * (`later - earlier`), for analysing one window of a canary.
 */
export function subtractSnapshots(later: LatencySnapshot, earlier: LatencySnapshot): LatencySnapshot {
  const sameBuckets =
    later.bucketsMs.length === earlier.bucketsMs.length && later.bucketsMs.every((b, i) => b === earlier.bucketsMs[i]);
  if (!sameBuckets) throw new RangeError('cannot subtract latency snapshots with different buckets');
  return {
    bucketsMs: later.bucketsMs.slice(),
    counts: later.counts.map((c, i) => Math.max(0, c - (earlier.counts[i] ?? 0))),
    sumMs: Math.max(0, later.sumMs - earlier.sumMs),
    count: Math.max(0, later.count - earlier.count),
  };
}
