import type Database from 'better-sqlite3';
import type { Constraint, Flag, Segments } from './flag-model.js';
import type {
  EvaluationCount,
  FlagAction,
  FlagAuditEntry,
  FlagStore,
  StoredFlag,
  StoredRollout,
} from './flag-store.js';

/**
 * Feature flags in the same SQLite file as the deploy state: the current flag
 * of each (environment, key), an append-only audit log of every change with
 * the flag before and after, the segments, the evaluation counts the SDKs
 * report, the progressive rollouts, and a revision per environment that
 * grows by one with every change (SDK streams carry it, so a client can tell
 * it missed one).
 *
 * Flags are stored as the parsed, defaulted JSON the schema produced; the
 * service layer (flags/) validates before anything reaches here.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS flags (
  environment TEXT NOT NULL,
  key TEXT NOT NULL,
  flag_json TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (environment, key)
);
CREATE TABLE IF NOT EXISTS flag_revisions (
  environment TEXT PRIMARY KEY,
  revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS flag_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  environment TEXT NOT NULL,
  key TEXT NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT,
  before_json TEXT,
  after_json TEXT,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS flag_audit_by_key ON flag_audit (environment, key, seq);
CREATE TABLE IF NOT EXISTS flag_segments (
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  constraints_json TEXT NOT NULL,
  PRIMARY KEY (environment, name)
);
CREATE TABLE IF NOT EXISTS flag_evaluations (
  environment TEXT NOT NULL,
  key TEXT NOT NULL,
  variant TEXT NOT NULL,
  count INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  PRIMARY KEY (environment, key, variant)
);
CREATE TABLE IF NOT EXISTS flag_rollouts (
  id TEXT PRIMARY KEY,
  environment TEXT NOT NULL,
  key TEXT NOT NULL,
  phase TEXT NOT NULL,
  state_json TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS flag_rollouts_by_key ON flag_rollouts (environment, key, started_at);
`;

/** The evaluation counts table keeps errors (variant null) under this name, as its key cannot be NULL. */
const ERROR_VARIANT = '';

type Row = Record<string, unknown>;

export class SqliteFlagStore implements FlagStore {
  private historyStatement: Database.Statement | null = null;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  revision(environment: string): number {
    const row = this.db.prepare('SELECT revision FROM flag_revisions WHERE environment = ?').get(environment) as
      Row | undefined;
    return (row?.revision as number | undefined) ?? 0;
  }

  /** Call inside the transaction of the change it counts. */
  bumpRevision(environment: string): number {
    const row = this.db
      .prepare(
        `INSERT INTO flag_revisions (environment, revision) VALUES (?, 1)
                ON CONFLICT(environment) DO UPDATE SET revision = revision + 1 RETURNING revision`,
      )
      .get(environment) as Row;
    return row.revision as number;
  }

  get(environment: string, key: string): StoredFlag | null {
    const row = this.db.prepare('SELECT * FROM flags WHERE environment = ? AND key = ?').get(environment, key) as
      Row | undefined;
    return row ? toStoredFlag(row) : null;
  }

  list(environment: string): StoredFlag[] {
    return (this.db.prepare('SELECT * FROM flags WHERE environment = ? ORDER BY key').all(environment) as Row[]).map(
      toStoredFlag,
    );
  }

  /** Inserts or replaces the flag with the given version. */
  put(environment: string, flag: Flag, version: number, actor: string, now: number): void {
    this.db
      .prepare(
        `INSERT INTO flags (environment, key, flag_json, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(environment, key) DO UPDATE SET flag_json = excluded.flag_json, version = excluded.version,
                  updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .run(environment, flag.key, JSON.stringify(flag), version, now, actor);
  }

  delete(environment: string, key: string): void {
    this.db.prepare('DELETE FROM flags WHERE environment = ? AND key = ?').run(environment, key);
    this.db.prepare('DELETE FROM flag_evaluations WHERE environment = ? AND key = ?').run(environment, key);
  }

  appendAudit(entry: Omit<FlagAuditEntry, 'seq'>): void {
    this.db
      .prepare(
        `INSERT INTO flag_audit (environment, key, action, actor, at, reason, before_json, after_json, version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        entry.environment,
        entry.key,
        entry.action,
        entry.actor,
        entry.at,
        entry.reason,
        entry.before === null ? null : JSON.stringify(entry.before),
        entry.after === null ? null : JSON.stringify(entry.after),
        entry.version,
      );
  }

  /** Newest first. */
  history(environment: string, key: string, limit: number): FlagAuditEntry[] {
    // Prepared once: stale-flag detection reads the history of every flag of an environment per /metrics scrape.
    this.historyStatement ??= this.db.prepare(
      'SELECT * FROM flag_audit WHERE environment = ? AND key = ? ORDER BY seq DESC LIMIT ?',
    );
    return (this.historyStatement.all(environment, key, limit) as Row[]).map(toAuditEntry);
  }

  /** The audit log of an environment, newest first (the dashboard's feed). */
  recentChanges(environment: string, limit: number): FlagAuditEntry[] {
    return (
      this.db
        .prepare('SELECT * FROM flag_audit WHERE environment = ? ORDER BY seq DESC LIMIT ?')
        .all(environment, limit) as Row[]
    ).map(toAuditEntry);
  }

  segments(environment: string): Segments {
    const rows = this.db
      .prepare('SELECT name, constraints_json FROM flag_segments WHERE environment = ? ORDER BY name')
      .all(environment) as Row[];
    const segments: Record<string, Constraint[]> = {};
    for (const row of rows) segments[row.name as string] = JSON.parse(row.constraints_json as string) as Constraint[];
    return segments;
  }

  putSegment(environment: string, name: string, constraints: readonly Constraint[]): void {
    this.db
      .prepare(
        `INSERT INTO flag_segments (environment, name, constraints_json) VALUES (?, ?, ?)
                ON CONFLICT(environment, name) DO UPDATE SET constraints_json = excluded.constraints_json`,
      )
      .run(environment, name, JSON.stringify(constraints));
  }

  deleteSegment(environment: string, name: string): boolean {
    return (
      this.db.prepare('DELETE FROM flag_segments WHERE environment = ? AND name = ?').run(environment, name).changes > 0
    );
  }

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
  ): number {
    const update = this.db.prepare(
      'UPDATE flag_evaluations SET count = count + ?, last_seen_at = ? WHERE environment = ? AND key = ? AND variant = ?',
    );
    const insert = this.db.prepare(
      'INSERT INTO flag_evaluations (environment, key, variant, count, last_seen_at) VALUES (?, ?, ?, ?, ?)',
    );
    return this.transaction(() => {
      let series = (this.db.prepare('SELECT COUNT(*) AS n FROM flag_evaluations').get() as { n: number }).n;
      let refused = 0;
      for (const entry of counts) {
        const variant = entry.variant ?? ERROR_VARIANT;
        if (update.run(entry.count, now, environment, entry.flag, variant).changes > 0) continue;
        if (series >= maxSeries) {
          refused++;
          continue;
        }
        insert.run(environment, entry.flag, variant, entry.count, now);
        series++;
      }
      return refused;
    });
  }

  /** Drops the counts of variants a flag no longer has (after a replace or patch). */
  pruneEvaluations(environment: string, key: string, variants: readonly string[]): void {
    const keep = [ERROR_VARIANT, ...variants];
    this.db
      .prepare(
        `DELETE FROM flag_evaluations WHERE environment = ? AND key = ? AND variant NOT IN (${keep.map(() => '?').join(', ')})`,
      )
      .run(environment, key, ...keep);
  }

  evaluations(environment: string, key: string): EvaluationCount[] {
    return (
      this.db
        .prepare(
          'SELECT variant, count, last_seen_at FROM flag_evaluations WHERE environment = ? AND key = ? ORDER BY count DESC',
        )
        .all(environment, key) as Row[]
    ).map((row) => ({
      variant: row.variant === ERROR_VARIANT ? null : (row.variant as string),
      count: row.count as number,
      lastSeenAt: row.last_seen_at as number,
    }));
  }

  lastEvaluations(environment: string): Map<string, number> {
    const rows = this.db
      .prepare('SELECT key, MAX(last_seen_at) AS at FROM flag_evaluations WHERE environment = ? GROUP BY key')
      .all(environment) as Row[];
    return new Map(rows.map((row) => [row.key as string, row.at as number]));
  }

  /** Totals per environment, flag and variant (for /metrics). */
  allEvaluations(): { environment: string; key: string; variant: string | null; count: number }[] {
    return (this.db.prepare('SELECT environment, key, variant, count FROM flag_evaluations').all() as Row[]).map(
      (row) => ({
        environment: row.environment as string,
        key: row.key as string,
        variant: row.variant === ERROR_VARIANT ? null : (row.variant as string),
        count: row.count as number,
      }),
    );
  }

  // --- progressive rollouts ----------------------------------------------------

  createRollout<State>(rollout: StoredRollout<State>): void {
    this.db
      .prepare(
        'INSERT INTO flag_rollouts (id, environment, key, phase, state_json, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        rollout.id,
        rollout.environment,
        rollout.key,
        rollout.phase,
        JSON.stringify(rollout.state),
        rollout.startedAt,
        rollout.finishedAt,
      );
  }

  updateRollout<State>(id: string, phase: string, state: State, finishedAt: number | null): void {
    this.db
      .prepare('UPDATE flag_rollouts SET phase = ?, state_json = ?, finished_at = ? WHERE id = ?')
      .run(phase, JSON.stringify(state), finishedAt, id);
  }

  getRollout<State>(id: string): StoredRollout<State> | null {
    const row = this.db.prepare('SELECT * FROM flag_rollouts WHERE id = ?').get(id) as Row | undefined;
    return row ? toRollout<State>(row) : null;
  }

  rolloutsInPhase<State>(phase: string): StoredRollout<State>[] {
    return (this.db.prepare('SELECT * FROM flag_rollouts WHERE phase = ? ORDER BY started_at').all(phase) as Row[]).map(
      (row) => toRollout<State>(row),
    );
  }

  rolloutsOf<State>(environment: string, key: string, limit: number): StoredRollout<State>[] {
    return (
      this.db
        .prepare('SELECT * FROM flag_rollouts WHERE environment = ? AND key = ? ORDER BY started_at DESC LIMIT ?')
        .all(environment, key, limit) as Row[]
    ).map((row) => toRollout<State>(row));
  }
}

function toStoredFlag(row: Row): StoredFlag {
  return {
    environment: row.environment as string,
    flag: JSON.parse(row.flag_json as string) as Flag,
    version: row.version as number,
    updatedAt: row.updated_at as number,
    updatedBy: row.updated_by as string,
  };
}

function toAuditEntry(row: Row): FlagAuditEntry {
  return {
    seq: row.seq as number,
    environment: row.environment as string,
    key: row.key as string,
    action: row.action as FlagAction,
    actor: row.actor as string,
    at: row.at as number,
    reason: (row.reason as string | null) ?? null,
    before: row.before_json === null ? null : (JSON.parse(row.before_json as string) as Flag),
    after: row.after_json === null ? null : (JSON.parse(row.after_json as string) as Flag),
    version: row.version as number,
  };
}

function toRollout<State>(row: Row): StoredRollout<State> {
  return {
    id: row.id as string,
    environment: row.environment as string,
    key: row.key as string,
    phase: row.phase as string,
    state: JSON.parse(row.state_json as string) as State,
    startedAt: row.started_at as number,
    finishedAt: (row.finished_at as number | null) ?? null,
  };
}
