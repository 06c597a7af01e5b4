import { VariantTally } from './variant-tally.js';

/**
 * Evaluation counts per flag and variant, between two reports to
 * `POST /api/v1/sdk/evaluations`. A report takes the counts out (so
 * evaluations during the request are counted for the next one); a report
 * that fails gives them back, so a server that is down for a while loses
 * nothing, it only hears later.
 */

/** One line of the report body. */
export interface EvaluationCount {
  flag: string;
  /** Null for evaluations that failed. */
  variant: string | null;
  count: number;
}

export class EvaluationCounter {
  private readonly tallies = new Map<string, VariantTally>();

  /** The tally of a flag key, kept across changes of the flag so no count is lost when it changes. */
  tallyFor(key: string): VariantTally {
    let tally = this.tallies.get(key);
    if (tally === undefined) {
      tally = new VariantTally(key);
      this.tallies.set(key, tally);
    }
    return tally;
  }

  /** Takes every count out for a report, zeroing the tallies; forgets tallies of flags no longer in the set. */
  take(liveKeys: ReadonlySet<string>): EvaluationCount[] {
    const batch: EvaluationCount[] = [];
    for (const [key, tally] of this.tallies) {
      for (let slot = 0; slot < tally.counts.length; slot++) {
        const count = tally.counts[slot]!;
        if (count === 0) continue;
        batch.push({ flag: key, variant: tally.variants[slot]!, count });
        tally.counts[slot] = 0;
      }
      if (!liveKeys.has(key)) this.tallies.delete(key);
    }
    return batch;
  }

  /** Puts back the counts of a report the server did not accept. */
  restore(batch: readonly EvaluationCount[]): void {
    for (const line of batch) {
      const tally = this.tallyFor(line.flag);
      const slot = line.variant === null ? 0 : tally.slotOf(line.variant);
      tally.counts[slot]! += line.count;
    }
  }

  /** Total counts waiting to be reported (for tests and diagnostics). */
  pending(): number {
    let total = 0;
    for (const tally of this.tallies.values()) for (const count of tally.counts) total += count;
    return total;
  }
}
