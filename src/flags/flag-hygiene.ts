import type { FlagStore } from './flag-store.js';
import { singleServedVariant, staleness, type Staleness } from './flag-staleness.js';

/**
 * Stale flags of an environment (`cutover flags stale`, the `stale` field of
 * the flag list, the dashboard's badge, `cutover_flag_stale` on /metrics):
 * flag-staleness.ts's rules over the store's flags, their history and the
 * last evaluation the SDKs reported.
 */
export interface StaleFlag {
  environment: string;
  key: string;
  stale: Staleness[];
}

/** How far back a flag's history is read to find when it began to serve one value. */
const HISTORY_DEPTH = 200;

export class FlagHygiene {
  constructor(
    private readonly store: FlagStore,
    /** `flags.stale_after`. */
    readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {}

  /** Every flag of the environment by key, with its reasons to be stale (an empty list: not stale). */
  staleness(environment: string): Map<string, Staleness[]> {
    const now = this.now();
    const lastEvaluations = this.store.lastEvaluations(environment);
    const result = new Map<string, Staleness[]>();
    for (const { flag, updatedAt } of this.store.list(environment)) {
      result.set(
        flag.key,
        staleness({
          flag,
          // Only a flag that serves one value now needs its history (since when); most flags skip the read.
          history: singleServedVariant(flag) === null ? [] : this.store.history(environment, flag.key, HISTORY_DEPTH),
          updatedAt,
          lastEvaluatedAt: lastEvaluations.get(flag.key) ?? null,
          now,
          staleAfterMs: this.staleAfterMs,
        }),
      );
    }
    return result;
  }

  /** Only the stale flags, by key. */
  stale(environment: string): StaleFlag[] {
    return [...this.staleness(environment)]
      .filter(([, stale]) => stale.length > 0)
      .map(([key, stale]) => ({ environment, key, stale }));
  }
}
