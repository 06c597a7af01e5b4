import type { RandomSource } from './seeded-random.js';

/**
 * A bounded, uniform sample of the latencies of one release over one analysis
 * window, so the proxy can feed the baseline judge (which needs raw values
 * for Mann-Whitney, not histogram buckets) in constant memory however busy
 * the service is.
 *
 * Reservoir sampling, Algorithm R (Vitter, "Random sampling with a
 * reservoir", ACM TOMS 1985): the first `capacity` values are kept; the i-th
 * value after that (1-based overall) replaces a random kept one with
 * probability capacity / i, which leaves every value seen equally likely to
 * be in the sample. `record` does not allocate: one random draw and at most
 * one store. The random source is injected (Math.random in production, a
 * seeded mulberry32 in tests) so a sample is reproducible.
 */
export class LatencySample {
  readonly capacity: number;
  private readonly values: Float64Array;
  private seenCount = 0;

  constructor(
    capacity: number,
    private readonly random: RandomSource,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be a whole number >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.values = new Float64Array(capacity);
  }

  record(ms: number): void {
    const seen = ++this.seenCount;
    if (seen <= this.capacity) {
      this.values[seen - 1] = ms;
      return;
    }
    const slot = Math.floor(this.random() * seen);
    if (slot < this.capacity) this.values[slot] = ms;
  }

  /** How many latencies were recorded since the window began (kept or not). */
  get seen(): number {
    return this.seenCount;
  }

  /** The kept latencies, at most `capacity` of them (a copy; order is not meaningful). */
  samples(): number[] {
    return Array.from(this.values.subarray(0, Math.min(this.seenCount, this.capacity)));
  }

  /** Starts a new window. */
  reset(): void {
    this.seenCount = 0;
  }
}
