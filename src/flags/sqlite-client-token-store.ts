import type Database from 'better-sqlite3';
import type { ClientTokenRecord, ClientTokenStore } from './client-token-store.js';

/** Client-side tokens in the deploy state's SQLite file, hashed (client-token-store.ts). */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS flag_client_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  environment TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER
);
`;

type Row = Record<string, unknown>;

export class SqliteClientTokenStore implements ClientTokenStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  insert(record: ClientTokenRecord): void {
    this.db
      .prepare(
        `INSERT INTO flag_client_tokens (id, name, environment, hash, created_at, created_by, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.id,
        record.name,
        record.environment,
        record.hash,
        record.createdAt,
        record.createdBy,
        record.revokedAt,
      );
  }

  list(): ClientTokenRecord[] {
    return (this.db.prepare('SELECT * FROM flag_client_tokens ORDER BY created_at, id').all() as Row[]).map(toRecord);
  }

  byHash(hash: string): ClientTokenRecord | null {
    const row = this.db.prepare('SELECT * FROM flag_client_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  revoke(id: string, at: number): boolean {
    const result = this.db
      .prepare('UPDATE flag_client_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(at, id);
    return result.changes > 0;
  }
}

function toRecord(row: Row): ClientTokenRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    environment: row.environment as string,
    hash: row.hash as string,
    createdAt: row.created_at as number,
    createdBy: row.created_by as string,
    revokedAt: (row.revoked_at as number | null) ?? null,
  };
}
