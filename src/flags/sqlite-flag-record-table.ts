import type Database from 'better-sqlite3';
import type { FlagRecordTable, TableRecord } from './flag-record-table.js';

/** Table names are ours, never a request's: the SQL below interpolates them. */
export type FlagRecordTableName = 'flag_schedules' | 'flag_pending_changes';

/** flag-record-table.ts over SQLite: the record as JSON, with the columns it is looked up by. */
export class SqliteFlagRecordTable<T extends TableRecord> implements FlagRecordTable<T> {
  constructor(
    private readonly db: Database.Database,
    private readonly table: FlagRecordTableName,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
  id TEXT PRIMARY KEY,
  environment TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  at INTEGER NOT NULL,
  record_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ${table}_by_state ON ${table} (state, at);`);
  }

  put(record: T): void {
    this.db
      .prepare(
        `INSERT INTO ${this.table} (id, environment, key, state, at, record_json) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET state = excluded.state, at = excluded.at, record_json = excluded.record_json`,
      )
      .run(record.id, record.environment, record.key, record.state, record.at, JSON.stringify(record));
  }

  get(id: string): T | null {
    const row = this.db.prepare(`SELECT record_json FROM ${this.table} WHERE id = ?`).get(id) as
      { record_json: string } | undefined;
    return row ? (JSON.parse(row.record_json) as T) : null;
  }

  list(state?: string): T[] {
    const rows = (
      state === undefined
        ? this.db.prepare(`SELECT record_json FROM ${this.table} ORDER BY at, id`).all()
        : this.db.prepare(`SELECT record_json FROM ${this.table} WHERE state = ? ORDER BY at, id`).all(state)
    ) as { record_json: string }[];
    return rows.map((row) => JSON.parse(row.record_json) as T);
  }
}
