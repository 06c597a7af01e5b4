import type { Constraint, Flag, Segments } from './flag-model.js';

/**
 * The flag store port: what the flag service and the rollout runner need from
 * durable state. Two implementations honour it and pass the same contract
 * (test/flags/flag-store-contract.ts): sqlite-flag-store.ts (the server's,
 * in the deploy state's SQLite file) and memory-flag-store.ts (for tests and
 * the fake-built feature, see flag-feature.ts).
 *
 * Calls are synchronous: the service runs a change (read, write, audit,
 * revision bump) inside one `transaction`, so a throw leaves nothing behind.
 */

export interface StoredFlag {
  environment: string;
  flag: Flag;
  /** 1 when created, one more with each change. */
  version: number;
  updatedAt: number;
  updatedBy: string;
}

export type FlagAction = 'create' | 'update' | 'delete';

export interface FlagAuditEntry {
  seq: number;
  environment: string;
  key: string;
  action: FlagAction;
  actor: string;
  at: number;
  reason: string | null;
  before: Flag | null;
  after: Flag | null;
  /** The flag's version after the change (for a delete: the version deleted). */
  version: number;
}

export interface EvaluationCount {
  variant: string | null;
  count: number;
  lastSeenAt: number;
}

export interface StoredRollout<State> {
  id: string;
  environment: string;
  key: string;
  phase: string;
  state: State;
  startedAt: number;
  finishedAt: number | null;
}

export interface FlagStore {
  /** Runs `fn` atomically: when it throws, none of its writes remain. */
  transaction<T>(fn: () => T): T;
  /** The environment's revision: 0 before its first change. */
  revision(environment: string): number;
  /** Call inside the transaction of the change it counts; returns the new revision. */
  bumpRevision(environment: string): number;
  get(environment: string, key: string): StoredFlag | null;
  /** Ordered by key. */
  list(environment: string): StoredFlag[];
  /** Inserts or replaces the flag with the given version. */
  put(environment: string, flag: Flag, version: number, actor: string, now: number): void;
  /** Removes the flag and its evaluation counts. */
  delete(environment: string, key: string): void;
  appendAudit(entry: Omit<FlagAuditEntry, 'seq'>): void;
  /** Newest first. */
  history(environment: string, key: string, limit: number): FlagAuditEntry[];
  /** The audit log of an environment, newest first (the dashboard's feed). */
  recentChanges(environment: string, limit: number): FlagAuditEntry[];
  /** By name. */
  segments(environment: string): Segments;
  putSegment(environment: string, name: string, constraints: readonly Constraint[]): void;
  /** False when there was no such segment. */
  deleteSegment(environment: string, name: string): boolean;
  /**
   * Adds counts to their series; a series that does not exist yet is created
   * only while there are fewer than `maxSeries` in all. Returns how many
   * entries were refused for that cap.
   */
  addEvaluations(
    environment: string,
    counts: readonly { flag: string; variant: string | null; count: number }[],
    now: number,
    maxSeries: number,
  ): number;
  /** Drops the counts of variants a flag no longer has (after a replace or patch); error counts (variant null) stay. */
  pruneEvaluations(environment: string, key: string, variants: readonly string[]): void;
  /** Highest count first. */
  evaluations(environment: string, key: string): EvaluationCount[];
  /**
   * When each flag of the environment was last reported evaluated (by key):
   * the newest `lastSeenAt` of its series. A flag never evaluated is absent.
   */
  lastEvaluations(environment: string): Map<string, number>;
  /** Totals per environment, flag and variant (for /metrics). */
  allEvaluations(): { environment: string; key: string; variant: string | null; count: number }[];
  createRollout<State>(rollout: StoredRollout<State>): void;
  updateRollout<State>(id: string, phase: string, state: State, finishedAt: number | null): void;
  getRollout<State>(id: string): StoredRollout<State> | null;
  /** Oldest first. */
  rolloutsInPhase<State>(phase: string): StoredRollout<State>[];
  /** Newest first. */
  rolloutsOf<State>(environment: string, key: string, limit: number): StoredRollout<State>[];
}
