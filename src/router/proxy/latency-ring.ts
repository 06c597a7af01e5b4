/**
 * The most recent latencies (ms) of one release, for the statistical judge of
 * a canary (it compares the canary's sample with the stable one's). A
 * preallocated ring: recording is one store and one increment, so the hot
 * path allocates nothing; the oldest value is overwritten once it is full.
 */
export class LatencyRing {
  private readonly values: Float64Array;
  /** Total values ever recorded; the next one goes to `recorded % capacity`. */
  private recorded = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  get size(): number {
    return Math.min(this.recorded, this.values.length);
  }

  record(ms: number): void {
    const capacity = this.values.length;
    this.values[this.recorded % capacity] = ms;
    this.recorded++;
  }

  /** A copy, oldest first. */
  toArray(): number[] {
    const capacity = this.values.length;
    const size = this.size;
    const out = new Array<number>(size);
    const start = this.recorded - size;
    for (let i = 0; i < size; i++) out[i] = this.values[(start + i) % capacity] as number;
    return out;
  }
}
