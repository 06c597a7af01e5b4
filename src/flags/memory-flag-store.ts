import type { Constraint, Flag, Segments } from './flag-model.js';
import type { EvaluationCount, FlagAuditEntry, FlagStore, StoredFlag, StoredRollout } from './flag-store.js';

/**
 * The flag store in memory: the fake the feature is built with in tests
 * (flag-feature.ts `createFakeFlagFeature`). It honours the same port as
 * sqlite-flag-store.ts and passes the same contract
 * (test/flags/flag-store-contract.ts), so a test over it says something
 * about the server.
 *
 * Values are copied in and out, as the SQLite store's JSON columns do: a
 * caller that changes a flag it got back does not change the store.
 */
interface State {
  flags: Map<string, StoredFlag>;
  revisions: Map<string, number>;
  audit: FlagAuditEntry[];
  nextAuditSeq: number;
  segments: Map<string, Map<string, Constraint[]>>;
  /** By JSON [environment, key, variant]; variant null is kept as null. */
  evaluations: Map<
    string,
    { environment: string; key: string; variant: string | null; count: number; lastSeenAt: number }
  >;
  rollouts: Map<string, StoredRollout<unknown>>;
}

function emptyState(): State {
  return {
    flags: new Map(),
    revisions: new Map(),
    audit: [],
    nextAuditSeq: 1,
    segments: new Map(),
    evaluations: new Map(),
    rollouts: new Map(),
  };
}

const flagId = (environment: string, key: string): string => JSON.stringify([environment, key]);
const seriesId = (environment: string, key: string, variant: string | null): string =>
  JSON.stringify([environment, key, variant]);

export class MemoryFlagStore implements FlagStore {
  private state = emptyState();

  /** Runs `fn` on a copy of the state kept for a rollback: a throw restores it, as SQLite rolls back. */
  transaction<T>(fn: () => T): T {
    const before = structuredClone(this.state);
    try {
      return fn();
    } catch (error) {
      this.state = before;
      throw error;
    }
  }

  revision(environment: string): number {
    return this.state.revisions.get(environment) ?? 0;
  }

  bumpRevision(environment: string): number {
    const revision = this.revision(environment) + 1;
    this.state.revisions.set(environment, revision);
    return revision;
  }

  get(environment: string, key: string): StoredFlag | null {
    const stored = this.state.flags.get(flagId(environment, key));
    return stored ? structuredClone(stored) : null;
  }

  list(environment: string): StoredFlag[] {
    return [...this.state.flags.values()]
      .filter((stored) => stored.environment === environment)
      .sort((a, b) => (a.flag.key < b.flag.key ? -1 : a.flag.key > b.flag.key ? 1 : 0))
      .map((stored) => structuredClone(stored));
  }

  put(environment: string, flag: Flag, version: number, actor: string, now: number): void {
    this.state.flags.set(flagId(environment, flag.key), {
      environment,
      flag: structuredClone(flag),
      version,
      updatedAt: now,
      updatedBy: actor,
    });
  }

  delete(environment: string, key: string): void {
    this.state.flags.delete(flagId(environment, key));
    for (const [id, series] of this.state.evaluations) {
      if (series.environment === environment && series.key === key) this.state.evaluations.delete(id);
    }
  }

  appendAudit(entry: Omit<FlagAuditEntry, 'seq'>): void {
    this.state.audit.push({ ...structuredClone(entry), seq: this.state.nextAuditSeq++ });
  }

  history(environment: string, key: string, limit: number): FlagAuditEntry[] {
    return this.newestAudit((entry) => entry.environment === environment && entry.key === key, limit);
  }

  recentChanges(environment: string, limit: number): FlagAuditEntry[] {
    return this.newestAudit((entry) => entry.environment === environment, limit);
  }

  segments(environment: string): Segments {
    const named = this.state.segments.get(environment) ?? new Map<string, Constraint[]>();
    const segments: Record<string, Constraint[]> = {};
    for (const name of [...named.keys()].sort()) segments[name] = structuredClone(named.get(name)!);
    return segments;
  }

  putSegment(environment: string, name: string, constraints: readonly Constraint[]): void {
    let named = this.state.segments.get(environment);
    if (!named) this.state.segments.set(environment, (named = new Map()));
    named.set(name, structuredClone([...constraints]));
  }

  deleteSegment(environment: string, name: string): boolean {
    return this.state.segments.get(environment)?.delete(name) ?? false;
  }

  addEvaluations(
    environment: string,
    counts: readonly { flag: string; variant: string | null; count: number }[],
    now: number,
    maxSeries: number,
  ): number {
    return this.transaction(() => {
      let refused = 0;
      for (const entry of counts) {
        const id = seriesId(environment, entry.flag, entry.variant);
        const series = this.state.evaluations.get(id);
        if (series) {
          series.count += entry.count;
          series.lastSeenAt = now;
        } else if (this.state.evaluations.size >= maxSeries) {
          refused++;
        } else {
          this.state.evaluations.set(id, {
            environment,
            key: entry.flag,
            variant: entry.variant,
            count: entry.count,
            lastSeenAt: now,
          });
        }
      }
      return refused;
    });
  }

  pruneEvaluations(environment: string, key: string, variants: readonly string[]): void {
    for (const [id, series] of this.state.evaluations) {
      if (series.environment !== environment || series.key !== key || series.variant === null) continue;
      if (!variants.includes(series.variant)) this.state.evaluations.delete(id);
    }
  }

  lastEvaluations(environment: string): Map<string, number> {
    const last = new Map<string, number>();
    for (const series of this.state.evaluations.values()) {
      if (series.environment !== environment) continue;
      last.set(series.key, Math.max(last.get(series.key) ?? 0, series.lastSeenAt));
    }
    return last;
  }

  evaluations(environment: string, key: string): EvaluationCount[] {
    return [...this.state.evaluations.values()]
      .filter((series) => series.environment === environment && series.key === key)
      .sort((a, b) => b.count - a.count)
      .map((series) => ({ variant: series.variant, count: series.count, lastSeenAt: series.lastSeenAt }));
  }

  allEvaluations(): { environment: string; key: string; variant: string | null; count: number }[] {
    return [...this.state.evaluations.values()].map(({ environment, key, variant, count }) => ({
      environment,
      key,
      variant,
      count,
    }));
  }

  createRollout<State>(rollout: StoredRollout<State>): void {
    if (this.state.rollouts.has(rollout.id)) throw new Error(`flag rollout ${rollout.id} exists already`);
    this.state.rollouts.set(rollout.id, structuredClone(rollout));
  }

  updateRollout<State>(id: string, phase: string, state: State, finishedAt: number | null): void {
    const rollout = this.state.rollouts.get(id);
    if (!rollout) return;
    this.state.rollouts.set(id, { ...rollout, phase, state: structuredClone(state), finishedAt });
  }

  getRollout<State>(id: string): StoredRollout<State> | null {
    const rollout = this.state.rollouts.get(id);
    return rollout ? (structuredClone(rollout) as StoredRollout<State>) : null;
  }

  rolloutsInPhase<State>(phase: string): StoredRollout<State>[] {
    return this.rollouts((rollout) => rollout.phase === phase).sort(
      (a, b) => a.startedAt - b.startedAt,
    ) as StoredRollout<State>[];
  }

  rolloutsOf<State>(environment: string, key: string, limit: number): StoredRollout<State>[] {
    return this.rollouts((rollout) => rollout.environment === environment && rollout.key === key)
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, limit) as StoredRollout<State>[];
  }

  private rollouts(keep: (rollout: StoredRollout<unknown>) => boolean): StoredRollout<unknown>[] {
    return [...this.state.rollouts.values()].filter(keep).map((rollout) => structuredClone(rollout));
  }

  private newestAudit(keep: (entry: FlagAuditEntry) => boolean, limit: number): FlagAuditEntry[] {
    const found: FlagAuditEntry[] = [];
    for (let i = this.state.audit.length - 1; i >= 0 && found.length < limit; i--) {
      const entry = this.state.audit[i]!;
      if (keep(entry)) found.push(structuredClone(entry));
    }
    return found;
  }
}
