/**
 * A small durable table of records that change state over time: the
 * scheduled flag changes (flag-scheduler.ts) and the changes waiting for an
 * approval (flag-approvals.ts). Each record is kept whole, as JSON, under its
 * id; `state` and `at` are what the server looks records up by. Two
 * implementations, like the flag store: sqlite-flag-record-table.ts (the
 * server's, in the deploy state's SQLite file) and the in-memory one below.
 */
export interface TableRecord {
  id: string;
  environment: string;
  key: string;
  state: string;
  /** What the table is ordered by: when a schedule is due, when a change was proposed. */
  at: number;
}

export interface FlagRecordTable<T extends TableRecord> {
  /** Inserts or replaces the record with its id. */
  put(record: T): void;
  get(id: string): T | null;
  /** Ordered by `at`, then id; only records in `state` when given. */
  list(state?: string): T[];
}

export class MemoryFlagRecordTable<T extends TableRecord> implements FlagRecordTable<T> {
  private readonly rows = new Map<string, T>();

  put(record: T): void {
    this.rows.set(record.id, structuredClone(record));
  }

  get(id: string): T | null {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  list(state?: string): T[] {
    return [...this.rows.values()]
      .filter((row) => state === undefined || row.state === state)
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((row) => structuredClone(row));
  }
}
