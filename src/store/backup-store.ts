import type Database from 'better-sqlite3';
import type { BackupKind } from '../core/backup-retention.js';

/**
 * Metadata of the database backups (the dumps themselves are files in the
 * state directory), and the migrations each release knew when it was
 * deployed (what decides whether a contract migration may run).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS backups (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  label TEXT NOT NULL,
  database TEXT NOT NULL,
  file TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  release_id TEXT,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  kind TEXT NOT NULL DEFAULT 'automatic',
  expires_at INTEGER,
  UNIQUE (service, label)
);
CREATE TABLE IF NOT EXISTS release_migrations (
  release_id TEXT PRIMARY KEY,
  migrations_json TEXT NOT NULL
);
`;

export interface BackupRecord {
  id: string;
  service: string;
  label: string;
  /** The database name (never the URL: it holds the password). */
  database: string;
  file: string;
  sizeBytes: number;
  releaseId: string | null;
  createdBy: string;
  createdAt: number;
  /** automatic (before a deploy, trimmed to `keep`) or manual (kept until deleted or expired). */
  kind: BackupKind;
  /** Epoch ms after which retention removes a manual backup; null: never. */
  expiresAt: number | null;
}

type Row = Record<string, unknown>;

export class BackupStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    // A state directory from before backups had kinds: pre-<version> ones were the automatic ones.
    const columns = (db.prepare('PRAGMA table_info(backups)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('kind')) {
      db.exec(`ALTER TABLE backups ADD COLUMN kind TEXT NOT NULL DEFAULT 'automatic';
        ALTER TABLE backups ADD COLUMN expires_at INTEGER;
        UPDATE backups SET kind = CASE WHEN label LIKE 'pre-%' THEN 'automatic' ELSE 'manual' END;`);
    }
  }

  add(record: BackupRecord): void {
    this.db
      .prepare(
        `INSERT INTO backups (id, service, label, database, file, size_bytes, release_id, created_by, created_at, kind, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.id,
        record.service,
        record.label,
        record.database,
        record.file,
        record.sizeBytes,
        record.releaseId,
        record.createdBy,
        record.createdAt,
        record.kind,
        record.expiresAt,
      );
  }

  /** Newest first. */
  list(service: string): BackupRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM backups WHERE service = ? ORDER BY created_at DESC, rowid DESC')
        .all(service) as Row[]
    ).map(toBackup);
  }

  find(service: string, labelOrId: string): BackupRecord | null {
    const row = this.db
      .prepare('SELECT * FROM backups WHERE service = ? AND (label = ? OR id = ?)')
      .get(service, labelOrId, labelOrId) as Row | undefined;
    return row ? toBackup(row) : null;
  }

  remove(id: string): void {
    this.db.prepare('DELETE FROM backups WHERE id = ?').run(id);
  }

  setReleaseMigrations(releaseId: string, ids: readonly string[]): void {
    this.db
      .prepare(
        `INSERT INTO release_migrations (release_id, migrations_json) VALUES (?, ?)
      ON CONFLICT(release_id) DO UPDATE SET migrations_json = excluded.migrations_json`,
      )
      .run(releaseId, JSON.stringify(ids));
  }

  releaseMigrations(releaseId: string): string[] | null {
    const row = this.db
      .prepare('SELECT migrations_json FROM release_migrations WHERE release_id = ?')
      .get(releaseId) as Row | undefined;
    return row ? (JSON.parse(row.migrations_json as string) as string[]) : null;
  }
}

function toBackup(row: Row): BackupRecord {
  return {
    id: row.id as string,
    service: row.service as string,
    label: row.label as string,
    database: row.database as string,
    file: row.file as string,
    sizeBytes: row.size_bytes as number,
    releaseId: (row.release_id as string | null) ?? null,
    createdBy: row.created_by as string,
    createdAt: row.created_at as number,
    kind: row.kind === 'manual' ? 'manual' : 'automatic',
    expiresAt: (row.expires_at as number | null) ?? null,
  };
}
