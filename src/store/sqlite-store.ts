import path from 'node:path';
import Database from 'better-sqlite3';
import { CutoverError } from '../core/errors.js';
import type { Slot } from '../core/slot.js';
import type { InstanceInfo } from '../runtime/index.js';
import type {
  ErrorRecord,
  EventRecord,
  LockRecord,
  MaintenanceRecord,
  OperationKind,
  OperationOutcome,
  OperationRecord,
  ReleaseRecord,
  ReleaseState,
  ServiceRecord,
} from './records.js';
import type { NewRelease, ReleasePatch, Store } from './store.js';
import { ensurePrivateDir, ensurePrivateFile, tightenIfPresent } from './private-files.js';

/**
 * Durable state in one SQLite file (WAL mode) in the state directory. Every
 * deploy transition is written here before the next step runs, so a
 * controller killed at any point finds the truth on restart.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS services (
  name TEXT PRIMARY KEY,
  active_release_id TEXT,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS service_maintenance (
  service TEXT PRIMARY KEY,
  record_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  seq INTEGER NOT NULL,
  version TEXT NOT NULL,
  slot TEXT NOT NULL,
  state TEXT NOT NULL,
  config_json TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  git_commit TEXT,
  git_branch TEXT,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  scale_down_at INTEGER,
  error_json TEXT,
  UNIQUE (service, seq)
);
CREATE TABLE IF NOT EXISTS operations (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  kind TEXT NOT NULL,
  release_id TEXT,
  from_release_id TEXT,
  actor TEXT NOT NULL,
  phase TEXT NOT NULL,
  state_json TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  outcome TEXT,
  error_json TEXT
);
CREATE INDEX IF NOT EXISTS operations_by_service ON operations (service, started_at);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  operation_id TEXT,
  service TEXT NOT NULL,
  release_id TEXT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  data_json TEXT
);
CREATE INDEX IF NOT EXISTS events_by_operation ON events (operation_id, seq);
-- /metrics counts analysis verdicts on every scrape, and history reads events of a type: neither may scan the whole log.
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, service);
CREATE TABLE IF NOT EXISTS locks (
  service TEXT PRIMARY KEY,
  operation_id TEXT NOT NULL,
  holder TEXT NOT NULL,
  acquired_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  release_id TEXT NOT NULL,
  info_json TEXT NOT NULL
);
`;

type Row = Record<string, unknown>;

function parseJson(text: unknown): unknown {
  return typeof text === 'string' ? JSON.parse(text) : null;
}

function toRelease(row: Row): ReleaseRecord {
  return {
    id: row.id as string,
    service: row.service as string,
    seq: row.seq as number,
    version: row.version as string,
    slot: row.slot as Slot,
    state: row.state as ReleaseState,
    config: parseJson(row.config_json),
    configHash: row.config_hash as string,
    gitCommit: (row.git_commit as string | null) ?? null,
    gitBranch: (row.git_branch as string | null) ?? null,
    createdBy: row.created_by as string,
    createdAt: row.created_at as number,
    activatedAt: (row.activated_at as number | null) ?? null,
    scaleDownAt: (row.scale_down_at as number | null) ?? null,
    error: parseJson(row.error_json) as ErrorRecord | null,
  };
}

function toOperation(row: Row): OperationRecord {
  return {
    id: row.id as string,
    service: row.service as string,
    kind: row.kind as OperationKind,
    releaseId: (row.release_id as string | null) ?? null,
    fromReleaseId: (row.from_release_id as string | null) ?? null,
    actor: row.actor as string,
    phase: row.phase as string,
    state: parseJson(row.state_json),
    startedAt: row.started_at as number,
    finishedAt: (row.finished_at as number | null) ?? null,
    outcome: (row.outcome as OperationOutcome | null) ?? null,
    error: parseJson(row.error_json) as ErrorRecord | null,
  };
}

function toEvent(row: Row): EventRecord {
  return {
    seq: row.seq as number,
    operationId: (row.operation_id as string | null) ?? null,
    service: row.service as string,
    releaseId: (row.release_id as string | null) ?? null,
    at: row.at as number,
    type: row.type as string,
    message: row.message as string,
    data: parseJson(row.data_json),
  };
}

export type { NewRelease } from './store.js';

export class SqliteStore implements Store {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(stateDir: string): SqliteStore {
    ensurePrivateDir(stateDir);
    const file = path.join(stateDir, 'cutover.db');
    // Made 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode.
    ensurePrivateFile(file);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    // State from an older version may have looser ones.
    tightenIfPresent(`${file}-wal`);
    tightenIfPresent(`${file}-shm`);
    // FULL: a transition acknowledged to the CLI survives a power cut, not just a crash.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new SqliteStore(db);
  }

  static memory(): SqliteStore {
    const db = new Database(':memory:');
    db.exec(SCHEMA);
    return new SqliteStore(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The same database for sibling stores (flags/sqlite-flag-store.ts), so one file and one WAL hold all state. */
  get connection(): Database.Database {
    return this.db;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // --- services -------------------------------------------------------------

  getService(name: string): ServiceRecord {
    const row = this.db.prepare('SELECT * FROM services WHERE name = ?').get(name) as Row | undefined;
    return row
      ? { name, activeReleaseId: (row.active_release_id as string | null) ?? null, updatedAt: row.updated_at as number }
      : { name, activeReleaseId: null, updatedAt: 0 };
  }

  setActiveRelease(service: string, releaseId: string | null, now: number): void {
    this.db
      .prepare(
        `INSERT INTO services (name, active_release_id, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET active_release_id = excluded.active_release_id, updated_at = excluded.updated_at`,
      )
      .run(service, releaseId, now);
  }

  getMaintenance(service: string): MaintenanceRecord | null {
    const row = this.db.prepare('SELECT record_json FROM service_maintenance WHERE service = ?').get(service) as
      Row | undefined;
    return row ? (parseJson(row.record_json) as MaintenanceRecord) : null;
  }

  setMaintenance(service: string, record: MaintenanceRecord | null): void {
    if (record === null) {
      this.db.prepare('DELETE FROM service_maintenance WHERE service = ?').run(service);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO service_maintenance (service, record_json) VALUES (?, ?)
                ON CONFLICT(service) DO UPDATE SET record_json = excluded.record_json`,
      )
      .run(service, JSON.stringify(record));
  }

  // --- releases -------------------------------------------------------------

  createRelease(input: NewRelease, now: number): ReleaseRecord {
    return this.transaction(() => {
      const last = this.db.prepare('SELECT MAX(seq) AS seq FROM releases WHERE service = ?').get(input.service) as Row;
      const seq = ((last.seq as number | null) ?? 0) + 1;
      const id = `${input.service}-${seq}`;
      this.db
        .prepare(
          `INSERT INTO releases (id, service, seq, version, slot, state, config_json, config_hash, git_commit,
                  git_branch, created_by, created_at) VALUES (?, ?, ?, ?, ?, 'starting', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.service,
          seq,
          input.version,
          input.slot,
          JSON.stringify(input.config),
          input.configHash,
          input.gitCommit,
          input.gitBranch,
          input.createdBy,
          now,
        );
      return this.getRelease(id)!;
    });
  }

  getRelease(id: string): ReleaseRecord | null {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as Row | undefined;
    return row ? toRelease(row) : null;
  }

  /** Newest first. */
  listReleases(service: string, limit = 1000): ReleaseRecord[] {
    return (
      this.db.prepare('SELECT * FROM releases WHERE service = ? ORDER BY seq DESC LIMIT ?').all(service, limit) as Row[]
    ).map(toRelease);
  }

  releasesInState(states: ReleaseState[]): ReleaseRecord[] {
    const marks = states.map(() => '?').join(',');
    return (
      this.db.prepare(`SELECT * FROM releases WHERE state IN (${marks}) ORDER BY seq`).all(...states) as Row[]
    ).map(toRelease);
  }

  updateRelease(id: string, patch: ReleasePatch): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (patch.state !== undefined) {
      sets.push('state = ?');
      values.push(patch.state);
    }
    if (patch.slot !== undefined) {
      sets.push('slot = ?');
      values.push(patch.slot);
    }
    if (patch.activatedAt !== undefined) {
      sets.push('activated_at = ?');
      values.push(patch.activatedAt);
    }
    if (patch.scaleDownAt !== undefined) {
      sets.push('scale_down_at = ?');
      values.push(patch.scaleDownAt);
    }
    if (patch.error !== undefined) {
      sets.push('error_json = ?');
      values.push(patch.error === null ? null : JSON.stringify(patch.error));
    }
    if (sets.length === 0) return;
    values.push(id);
    this.db.prepare(`UPDATE releases SET ${sets.join(', ')} WHERE id = ?`).run(...values);
  }

  // --- operations and events -------------------------------------------------

  createOperation(op: Omit<OperationRecord, 'finishedAt' | 'outcome' | 'error'>): OperationRecord {
    this.db
      .prepare(
        `INSERT INTO operations (id, service, kind, release_id, from_release_id, actor, phase, state_json, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        op.id,
        op.service,
        op.kind,
        op.releaseId,
        op.fromReleaseId,
        op.actor,
        op.phase,
        JSON.stringify(op.state),
        op.startedAt,
      );
    return this.getOperation(op.id)!;
  }

  getOperation(id: string): OperationRecord | null {
    const row = this.db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as Row | undefined;
    return row ? toOperation(row) : null;
  }

  updateOperation(id: string, patch: { phase?: string; state?: unknown; releaseId?: string | null }): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (patch.phase !== undefined) {
      sets.push('phase = ?');
      values.push(patch.phase);
    }
    if (patch.state !== undefined) {
      sets.push('state_json = ?');
      values.push(JSON.stringify(patch.state));
    }
    if (patch.releaseId !== undefined) {
      sets.push('release_id = ?');
      values.push(patch.releaseId);
    }
    if (sets.length === 0) return;
    values.push(id);
    this.db.prepare(`UPDATE operations SET ${sets.join(', ')} WHERE id = ?`).run(...values);
  }

  finishOperation(id: string, outcome: OperationOutcome, error: ErrorRecord | null, now: number): void {
    this.db
      .prepare('UPDATE operations SET outcome = ?, error_json = ?, finished_at = ? WHERE id = ? AND outcome IS NULL')
      .run(outcome, error === null ? null : JSON.stringify(error), now, id);
  }

  unfinishedOperations(): OperationRecord[] {
    return (this.db.prepare('SELECT * FROM operations WHERE outcome IS NULL ORDER BY started_at').all() as Row[]).map(
      toOperation,
    );
  }

  /** Newest first. */
  listOperations(service: string, limit = 50): OperationRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM operations WHERE service = ? ORDER BY started_at DESC, rowid DESC LIMIT ?')
        .all(service, limit) as Row[]
    ).map(toOperation);
  }

  /** Every finished operation's kind, outcome and duration, for /metrics. */
  /** Finished operations with the strategy of their release's snapshot (what the deploy actually ran). */
  finishedOperationStats(): { service: string; kind: string; strategy: string; outcome: string; durationMs: number }[] {
    return this.db
      .prepare(
        `SELECT o.service, o.kind, COALESCE(json_extract(r.config_json, '$.strategy.type'), '') AS strategy, o.outcome,
                       o.finished_at - o.started_at AS durationMs
                  FROM operations o LEFT JOIN releases r ON r.id = o.release_id WHERE o.outcome IS NOT NULL`,
      )
      .all() as { service: string; kind: string; strategy: string; outcome: string; durationMs: number }[];
  }

  /** How many events of each of the given types each service recorded (analysis verdicts for /metrics). */
  countEventsByType(types: readonly string[]): { service: string; type: string; count: number }[] {
    const marks = types.map(() => '?').join(', ');
    return this.db
      .prepare(`SELECT service, type, count(*) AS count FROM events WHERE type IN (${marks}) GROUP BY service, type`)
      .all(...types) as { service: string; type: string; count: number }[];
  }

  appendEvent(event: Omit<EventRecord, 'seq'>): EventRecord {
    const info = this.db
      .prepare(
        'INSERT INTO events (operation_id, service, release_id, at, type, message, data_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        event.operationId,
        event.service,
        event.releaseId,
        event.at,
        event.type,
        event.message,
        event.data === undefined || event.data === null ? null : JSON.stringify(event.data),
      );
    return { ...event, seq: Number(info.lastInsertRowid) };
  }

  eventsOf(operationId: string, afterSeq = 0): EventRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM events WHERE operation_id = ? AND seq > ? ORDER BY seq')
        .all(operationId, afterSeq) as Row[]
    ).map(toEvent);
  }

  /** A service's events of one type, newest last (e.g. every analysis measurement). */
  eventsOfType(service: string, type: string, limit = 500): EventRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM events WHERE service = ? AND type = ? ORDER BY seq DESC LIMIT ?')
        .all(service, type, limit) as Row[]
    )
      .map(toEvent)
      .reverse();
  }

  recentEvents(service: string, limit = 100): EventRecord[] {
    return (
      this.db.prepare('SELECT * FROM events WHERE service = ? ORDER BY seq DESC LIMIT ?').all(service, limit) as Row[]
    )
      .map(toEvent)
      .reverse();
  }

  // --- the per-service deploy lock -------------------------------------------

  /** Takes the lock or throws DEPLOY_LOCKED naming the holder. Atomic: SQLite serialises writers. */
  acquireLock(service: string, operationId: string, holder: string, now: number): void {
    this.transaction(() => {
      const held = this.getLock(service);
      if (held) {
        const since = new Date(held.acquiredAt).toISOString();
        throw new CutoverError(
          'DEPLOY_LOCKED',
          `service '${service}' is locked by ${held.holder} (operation ${held.operationId}) since ${since}`,
          { details: held },
        );
      }
      this.db
        .prepare('INSERT INTO locks (service, operation_id, holder, acquired_at) VALUES (?, ?, ?, ?)')
        .run(service, operationId, holder, now);
    });
  }

  getLock(service: string): LockRecord | null {
    const row = this.db.prepare('SELECT * FROM locks WHERE service = ?').get(service) as Row | undefined;
    return row
      ? {
          service,
          operationId: row.operation_id as string,
          holder: row.holder as string,
          acquiredAt: row.acquired_at as number,
        }
      : null;
  }

  releaseLock(service: string, operationId: string): void {
    this.db.prepare('DELETE FROM locks WHERE service = ? AND operation_id = ?').run(service, operationId);
  }

  // --- instances (for adoption after a restart) ------------------------------

  saveInstance(info: InstanceInfo): void {
    this.db
      .prepare(
        `INSERT INTO instances (id, service, release_id, info_json) VALUES (?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET info_json = excluded.info_json`,
      )
      .run(info.id, info.service, info.releaseId, JSON.stringify(info));
  }

  deleteInstance(id: string): void {
    this.db.prepare('DELETE FROM instances WHERE id = ?').run(id);
  }

  listInstances(): InstanceInfo[] {
    return (this.db.prepare('SELECT info_json FROM instances').all() as Row[]).map(
      (r) => JSON.parse(r.info_json as string) as InstanceInfo,
    );
  }

  // --- misc ------------------------------------------------------------------

  /** For tests and `doctor`: prove the file is writable. */
  integrityCheck(): string {
    return this.db.pragma('quick_check', { simple: true }) as string;
  }
}
