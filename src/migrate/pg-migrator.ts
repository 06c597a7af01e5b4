import os from 'node:os';
import pg from 'pg';
import { redactUrl } from '../config/redact.js';
import { CutoverError } from '../core/errors.js';
import type { MigrationFile } from './migration-files.js';
import type { AppliedMigration } from './migration-plan.js';
import { parseMigration, transactionModeOf, type MigrationStatement } from './lint/index.js';

/**
 * Applies migrations to a PostgreSQL database, one connection per runner:
 *
 * - a session advisory lock, so two runners (two servers, a server and a
 *   CLI, a deploy and `cutover migrate run`) never migrate at once; the one
 *   that waits re-reads the history after it gets the lock, so nothing is
 *   applied twice;
 * - the history table `cutover_schema_migrations` with each file's checksum;
 * - `lock_timeout` and `statement_timeout` for every migration, so a
 *   migration queued behind a long transaction gives up instead of blocking
 *   every query behind it, and is retried with backoff;
 * - one transaction per file (with its history row) where PostgreSQL allows;
 *   files with statements it refuses in a transaction (CREATE INDEX
 *   CONCURRENTLY, VACUUM) or with their own BEGIN/COMMIT run statement by
 *   statement, and are recorded when the last one succeeds.
 */
export const HISTORY_TABLE = 'cutover_schema_migrations';
/** pg_advisory_lock key: the first 8 bytes of sha256("cutover-migrations"), fixed so every cutover agrees. */
const LOCK_KEY = '7262358235213542051';
/** SQLSTATE lock_not_available: the lock_timeout expired. */
const LOCK_NOT_AVAILABLE = '55P03';

export interface MigratorSettings {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** Further attempts after a lock timeout. */
  lockRetries: number;
  /** The first retry's delay; each next one doubles. */
  retryDelayMs: number;
  /** How long to wait for another runner's advisory lock; 0 stops at once with MIGRATION_LOCKED. */
  lockWaitMs: number;
  /** Recorded in the history: who ran it (`deploy of web-4 by alice`, `cli`). */
  actor: string;
  release: string | null;
}

export interface MigrationProgress {
  type: 'migration.started' | 'migration.applied' | 'migration.retry' | 'migration.skipped' | 'migration.waiting';
  id?: string;
  message: string;
}

export class PgMigrator {
  private constructor(
    private readonly client: pg.Client,
    private readonly database: string,
  ) {}

  static async connect(url: string, applicationName = 'cutover migrate'): Promise<PgMigrator> {
    const client = new pg.Client({ connectionString: url, application_name: applicationName });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw new CutoverError(
        'DATABASE_UNREACHABLE',
        `cannot connect to ${redactUrl(url)}: ${(error as Error).message}`,
      );
    }
    // A lost connection is reported by the query that needed it; without a listener the error would crash the process.
    client.on('error', () => {});
    return new PgMigrator(client, client.database ?? redactUrl(url));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }

  /** The history; empty when the table does not exist yet (it is created under the lock, by the first apply). */
  async applied(): Promise<AppliedMigration[]> {
    const exists =
      (await this.client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [HISTORY_TABLE])).rows[0]
        ?.t != null;
    if (!exists) return [];
    const rows = (
      await this.client.query<{
        id: string;
        checksum: string;
        phase: 'expand' | 'contract';
        applied_at: Date;
        applied_by: string;
        release: string | null;
      }>(`SELECT id, checksum, phase, applied_at, applied_by, release FROM ${HISTORY_TABLE} ORDER BY id`)
    ).rows;
    return rows.map((row) => ({
      id: row.id,
      checksum: row.checksum,
      phase: row.phase,
      appliedAt: row.applied_at,
      appliedBy: row.applied_by,
      release: row.release,
    }));
  }

  /**
   * Runs `fn` holding the migration lock of the database. Waits up to
   * lockWaitMs for another holder, then fails with MIGRATION_LOCKED naming it.
   */
  async withLock<T>(
    settings: Pick<MigratorSettings, 'lockWaitMs'>,
    fn: () => Promise<T>,
    onProgress?: (p: MigrationProgress) => void,
  ): Promise<T> {
    const deadline = Date.now() + settings.lockWaitMs;
    let announced = false;
    for (;;) {
      const got =
        (await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [LOCK_KEY]))
          .rows[0]?.locked === true;
      if (got) break;
      const holder = await this.lockHolder();
      if (Date.now() >= deadline) {
        throw new CutoverError(
          'MIGRATION_LOCKED',
          `another runner is migrating ${this.database}${holder ? ` (${holder})` : ''}; nothing was applied by this one`,
        );
      }
      if (!announced)
        onProgress?.({
          type: 'migration.waiting',
          message: `waiting for another runner to finish migrating ${this.database}${holder ? ` (${holder})` : ''}`,
        });
      announced = true;
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
    try {
      return await fn();
    } finally {
      await this.client.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY]).catch(() => {});
    }
  }

  /**
   * Applies the files in order, under the lock. Each file's checksum is checked
   * against the history again after the lock is held: one applied meanwhile by
   * another runner is skipped, one applied with another checksum is refused.
   */
  async apply(
    files: readonly MigrationFile[],
    settings: MigratorSettings,
    onProgress: (p: MigrationProgress) => void = () => {},
  ): Promise<string[]> {
    return this.withLock(
      settings,
      async () => {
        // Under the lock: two runners creating the table at once would collide in the catalog.
        await this.ensureHistory();
        const applied = new Map((await this.applied()).map((entry) => [entry.id, entry]));
        const done: string[] = [];
        for (const file of files) {
          const already = applied.get(file.id);
          if (already) {
            if (already.checksum !== file.checksum) {
              throw new CutoverError(
                'MIGRATION_CHECKSUM_MISMATCH',
                `${file.id} was applied (by ${already.appliedBy}) with another checksum: its file changed since`,
              );
            }
            onProgress({
              type: 'migration.skipped',
              id: file.id,
              message: `${file.id} was applied meanwhile by ${already.appliedBy}; skipped`,
            });
            continue;
          }
          const started = Date.now();
          onProgress({
            type: 'migration.started',
            id: file.id,
            message: `applying ${file.phase} migration ${file.id}`,
          });
          await this.applyOne(file, settings, onProgress, started);
          onProgress({
            type: 'migration.applied',
            id: file.id,
            message: `applied ${file.id} in ${Date.now() - started} ms`,
          });
          done.push(file.id);
        }
        return done;
      },
      onProgress,
    );
  }

  private async applyOne(
    file: MigrationFile,
    settings: MigratorSettings,
    onProgress: (p: MigrationProgress) => void,
    started: number,
  ): Promise<void> {
    // The linter's parser and its transaction rule: what lint says about a file is how it runs.
    const parsed = await parseMigration(file.sql);
    if (!parsed.ok) {
      throw new CutoverError(
        'MIGRATION_INVALID',
        `${file.file}:${parsed.error.position.line}:${parsed.error.position.column}: ${parsed.error.message}`,
        { hint: 'Fix the SQL; `cutover migrate lint` shows where the parser stopped.' },
      );
    }
    const statements = parsed.statements;
    const outside = !transactionModeOf(statements, file.noTransaction).wrapped;
    const record = async (): Promise<void> => {
      await this.client.query(
        `INSERT INTO ${HISTORY_TABLE} (id, phase, checksum, applied_by, release, duration_ms, transactional) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [file.id, file.phase, file.checksum, settings.actor, settings.release, Date.now() - started, !outside],
      );
    };
    if (!outside) {
      await this.retryingLockTimeouts(file, settings, onProgress, async () => {
        await this.client.query('BEGIN');
        try {
          await this.setTimeouts(settings, 'LOCAL');
          await this.client.query(file.sql);
          await record();
          await this.client.query('COMMIT');
        } catch (error) {
          await this.client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      });
      return;
    }
    await this.setTimeouts(settings, 'SESSION');
    try {
      for (const statement of statements) {
        await this.retryingLockTimeouts(file, settings, onProgress, async () => {
          await this.runStatement(statement);
        });
      }
      await record();
    } finally {
      await this.client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {});
    }
  }

  private async runStatement(statement: MigrationStatement): Promise<void> {
    try {
      await this.client.query(statement.text);
    } catch (error) {
      (error as { statementLine?: number }).statementLine = statement.start.line;
      throw error;
    }
  }

  private async retryingLockTimeouts(
    file: MigrationFile,
    settings: MigratorSettings,
    onProgress: (p: MigrationProgress) => void,
    attempt: () => Promise<void>,
  ): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await attempt();
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === LOCK_NOT_AVAILABLE && tries < settings.lockRetries) {
          const delay = settings.retryDelayMs * 2 ** tries;
          onProgress({
            type: 'migration.retry',
            id: file.id,
            message: `${file.id}: lock_timeout (${settings.lockTimeoutMs} ms) expired waiting for a lock; retry ${tries + 1} of ${settings.lockRetries} in ${delay} ms`,
          });
          await sleep(delay);
          continue;
        }
        const line = (error as { statementLine?: number }).statementLine;
        const where = line === undefined ? '' : ` (statement at line ${line})`;
        const hint =
          code === LOCK_NOT_AVAILABLE
            ? 'A long transaction holds a lock the migration needs; find it in pg_stat_activity, or raise database.lock_timeout.'
            : undefined;
        throw new CutoverError(
          'MIGRATION_FAILED',
          `${file.id}${where}: ${(error as Error).message}${code ? ` [SQLSTATE ${code}]` : ''}`,
          { hint, cause: error },
        );
      }
    }
  }

  private async setTimeouts(settings: MigratorSettings, scope: 'LOCAL' | 'SESSION'): Promise<void> {
    // SET does not take parameters; the values are whole numbers we produced.
    await this.client.query(`SET ${scope} lock_timeout = ${Math.round(settings.lockTimeoutMs)}`);
    await this.client.query(`SET ${scope} statement_timeout = ${Math.round(settings.statementTimeoutMs)}`);
  }

  private async ensureHistory(): Promise<void> {
    await this.client.query(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
      id text PRIMARY KEY,
      phase text NOT NULL CHECK (phase IN ('expand', 'contract')),
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by text NOT NULL,
      release text,
      duration_ms integer NOT NULL,
      transactional boolean NOT NULL
    )`);
  }

  private async lockHolder(): Promise<string | null> {
    const rows = (
      await this.client
        .query<{ pid: number; application_name: string; client_addr: string | null; backend_start: Date }>(
          `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
          [LOCK_KEY],
        )
        .catch(() => ({ rows: [] }))
    ).rows;
    const holder = rows[0];
    if (!holder) return null;
    return `held by backend ${holder.pid}, application "${holder.application_name}"${holder.client_addr ? ` from ${holder.client_addr}` : ''}, connected since ${holder.backend_start.toISOString()}`;
  }
}

/** The runner's name in pg_stat_activity: who is migrating, from where. */
export function migratorApplicationName(what: string): string {
  return `cutover ${what} (${os.hostname()} pid ${process.pid})`.slice(0, 63);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
