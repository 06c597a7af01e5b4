import { createHash } from 'node:crypto';
import { parse } from 'libpg-query';
import pg from 'pg';
import { redactUrl } from '../config/redact.js';
import { CutoverError } from '../core/errors.js';

/**
 * A batched backfill (`cutover db backfill --table users --set "full_name =
 * first_name || ' ' || last_name" --where "full_name IS NULL" --batch 10000`):
 *
 * - keyset pagination on the primary key (`WHERE pk > last ORDER BY pk
 *   LIMIT n`), never OFFSET, so every batch costs the same however far in;
 * - one short transaction per batch, which also records the batch's last key
 *   in `cutover_backfills` in the same database: an interrupted backfill
 *   resumes after the last committed batch, and no batch is done twice;
 * - a pause between batches, so replicas and the application keep up.
 *
 * The SET and WHERE fragments are the operator's SQL; they are checked with
 * PostgreSQL's parser to be exactly one UPDATE of the table, so a stray `;`
 * cannot smuggle in a second statement.
 */
export const PROGRESS_TABLE = 'cutover_backfills';

export interface BackfillRequest {
  url: string;
  /** `users` or `schema.users`. */
  table: string;
  set: string;
  /** Only rows matching it are updated (null: all). Rows scanned but not matching still advance the key. */
  where: string | null;
  batchSize: number;
  sleepMs: number;
  /**
   * A backfill that finished before starts a new pass from the first key (its
   * count starts again). Without it, running a finished backfill again only
   * reports it: a SET without a WHERE that skips done rows (`gen_random_uuid()`)
   * must not be applied twice by a repeated command.
   */
  again?: boolean;
  /** Ends the run after the batch in flight (progress is kept). */
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  id: string;
  /** Rows updated so far, over every run of this pass (a run that resumes adds to it). */
  updated: number;
  /** Rows scanned (every row of the table in key order) in this run. */
  scanned: number;
  batches: number;
  /** Estimated rows still to scan (null when unknown). */
  remaining: number | null;
  rowsPerSecond: number;
  etaMs: number | null;
  resumed: boolean;
  done: boolean;
  /** When a finished backfill was run again without `again`: when it had finished (nothing was done now). */
  finishedBefore: string | null;
}

interface Key {
  columns: string[];
}

export async function runBackfill(request: BackfillRequest): Promise<BackfillProgress> {
  if (!Number.isInteger(request.batchSize) || request.batchSize < 1)
    throw new CutoverError('BAD_REQUEST', `--batch: expected a whole number ≥ 1, got ${request.batchSize}`);
  const names = tableNames(request.table);
  const table = names.map(quoteIdent).join('.');
  await checkFragments(table, request.set, request.where);
  const client = new pg.Client({ connectionString: request.url, application_name: 'cutover backfill' });
  try {
    await client.connect();
  } catch (error) {
    throw new CutoverError(
      'DATABASE_UNREACHABLE',
      `cannot connect to ${redactUrl(request.url)}: ${(error as Error).message}`,
    );
  }
  client.on('error', () => {});
  try {
    const key = await primaryKey(client, table, request.table);
    await client.query(`CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
      id text PRIMARY KEY, table_name text NOT NULL, set_sql text NOT NULL, where_sql text,
      last_key jsonb, rows_updated bigint NOT NULL DEFAULT 0, started_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)`);
    const id = createHash('sha256')
      .update(JSON.stringify([names.join('.'), request.set, request.where ?? '']))
      .digest('hex')
      .slice(0, 16);
    await client.query(
      `INSERT INTO ${PROGRESS_TABLE} (id, table_name, set_sql, where_sql) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      [id, names.join('.'), request.set, request.where],
    );
    // A new pass: rows written since the last one (by a release that does not write the column yet) are caught.
    if (request.again)
      await client.query(
        `UPDATE ${PROGRESS_TABLE} SET last_key = NULL, rows_updated = 0, started_at = now(), updated_at = now(), finished_at = NULL WHERE id = $1 AND finished_at IS NOT NULL`,
        [id],
      );
    const state = (
      await client.query<{ last_key: unknown[] | null; rows_updated: string; finished_at: Date | null }>(
        `SELECT last_key, rows_updated, finished_at FROM ${PROGRESS_TABLE} WHERE id = $1`,
        [id],
      )
    ).rows[0]!;
    let lastKey = state.last_key;
    let updated = Number(state.rows_updated);
    const resumed = lastKey !== null || state.finished_at !== null;
    if (state.finished_at !== null) {
      const finished: BackfillProgress = {
        id,
        updated,
        scanned: 0,
        batches: 0,
        remaining: 0,
        rowsPerSecond: 0,
        etaMs: 0,
        resumed,
        done: true,
        finishedBefore: state.finished_at.toISOString(),
      };
      request.onProgress?.(finished);
      return finished;
    }

    const keyList = key.columns.map(quoteIdent).join(', ');
    const after = (offset: number): string =>
      key.columns.length === 1
        ? `${quoteIdent(key.columns[0]!)} > $${offset}`
        : `(${keyList}) > (${key.columns.map((_, i) => `$${offset + i}`).join(', ')})`;
    let remaining = await estimateRemaining(client, table, lastKey === null ? null : after(1), lastKey ?? []);
    const started = Date.now();
    let scanned = 0;
    let batches = 0;
    // The batch's key columns get names of their own, so --set and --where may name the key columns unqualified.
    const aliases = key.columns.map((_, i) => `cutover_k${i}`);
    const join = key.columns.map((c, i) => `t.${quoteIdent(c)} = batch.${aliases[i]!}`).join(' AND ');
    const select = key.columns.map((c, i) => `${quoteIdent(c)} AS ${aliases[i]!}`).join(', ');
    for (;;) {
      if (request.signal?.aborted) break;
      const limit = `$${lastKey === null ? 1 : key.columns.length + 1}`;
      const batchSql = `WITH batch AS (
          SELECT ${select} FROM ${table} ${lastKey === null ? '' : `WHERE ${after(1)}`} ORDER BY ${keyList} LIMIT ${limit}
        ), updated AS (
          UPDATE ${table} AS t SET ${request.set} FROM batch WHERE ${join}${request.where === null ? '' : ` AND (${request.where})`} RETURNING 1
        )
        SELECT (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM updated)::int AS updated,
               (SELECT to_jsonb(ARRAY[${aliases.map((a) => `${a}::text`).join(', ')}]) FROM batch ORDER BY ${aliases.join(' DESC, ')} DESC LIMIT 1) AS last_key`;
      await client.query('BEGIN');
      let result: { scanned: number; updated: number; last_key: string[] | null };
      try {
        result = (
          await client.query<{ scanned: number; updated: number; last_key: string[] | null }>(batchSql, [
            ...(lastKey ?? []),
            request.batchSize,
          ])
        ).rows[0]!;
        await client.query(
          `UPDATE ${PROGRESS_TABLE} SET last_key = COALESCE($2::jsonb, last_key), rows_updated = rows_updated + $3, updated_at = now(), finished_at = CASE WHEN $4 THEN now() END WHERE id = $1`,
          [id, result.last_key === null ? null : JSON.stringify(result.last_key), result.updated, result.scanned === 0],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw new CutoverError(
          'MIGRATION_FAILED',
          `backfill of ${request.table} failed in batch ${batches + 1}: ${(error as Error).message}`,
          { hint: 'The batches before it are kept; fix the problem and run the same command again to resume.' },
        );
      }
      if (result.scanned === 0) {
        const done = progress(id, updated, scanned, batches, 0, started, resumed, true);
        request.onProgress?.(done);
        return done;
      }
      lastKey = result.last_key;
      updated += result.updated;
      scanned += result.scanned;
      batches += 1;
      if (remaining !== null) remaining = Math.max(0, remaining - result.scanned);
      request.onProgress?.(progress(id, updated, scanned, batches, remaining, started, resumed, false));
      if (request.sleepMs > 0) await sleep(request.sleepMs, request.signal);
    }
    return progress(id, updated, scanned, batches, remaining, started, resumed, false);
  } finally {
    await client.end().catch(() => {});
  }
}

function progress(
  id: string,
  updated: number,
  scanned: number,
  batches: number,
  remaining: number | null,
  started: number,
  resumed: boolean,
  done: boolean,
): BackfillProgress {
  const seconds = Math.max((Date.now() - started) / 1000, 0.001);
  const rate = scanned / seconds;
  return {
    id,
    updated,
    scanned,
    batches,
    remaining,
    rowsPerSecond: rate,
    etaMs: remaining === null || rate === 0 ? null : (remaining / rate) * 1000,
    resumed,
    done,
    finishedBefore: null,
  };
}

async function primaryKey(client: pg.Client, table: string, shown: string): Promise<Key> {
  const rows = (
    await client
      .query<{ column: string }>(
        `SELECT a.attname AS column FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary
      ORDER BY array_position(i.indkey, a.attnum)`,
        [table],
      )
      .catch((error: Error) => {
        throw new CutoverError('BAD_REQUEST', `--table: ${error.message}`);
      })
  ).rows;
  const exists =
    (await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table])).rows[0]?.t != null;
  if (!exists) throw new CutoverError('BAD_REQUEST', `--table: no table ${shown} in the database`);
  if (rows.length === 0)
    throw new CutoverError(
      'BAD_REQUEST',
      `--table: ${shown} has no primary key; a backfill pages by it (keyset pagination)`,
    );
  return { columns: rows.map((r) => r.column) };
}

/** Rows left to scan: an exact count when it is quick, else the planner's estimate, else unknown. */
async function estimateRemaining(
  client: pg.Client,
  table: string,
  after: string | null,
  values: unknown[],
): Promise<number | null> {
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL statement_timeout = '3s'");
    const row = (
      await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${table}${after === null ? '' : ` WHERE ${after}`}`,
        values,
      )
    ).rows[0];
    await client.query('COMMIT');
    return Number(row?.n ?? 0);
  } catch {
    await client.query('ROLLBACK').catch(() => {});
    const row = (
      await client
        .query<{ n: number }>('SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)', [table])
        .catch(() => ({ rows: [] }))
    ).rows[0];
    return row && row.n >= 0 ? Number(row.n) : null;
  }
}

/** The fragments must make exactly one UPDATE of the table: no second statement, no comment swallowing the rest. */
async function checkFragments(table: string, set: string, where: string | null): Promise<void> {
  for (const [flag, text] of [
    ['--set', set],
    ['--where', where ?? 'true'],
  ] as const) {
    if (text.includes(';') || text.includes('--') || text.includes('/*')) {
      throw new CutoverError(
        'BAD_REQUEST',
        `${flag}: expected one SQL expression, without ";" or comments, got ${JSON.stringify(text)}`,
      );
    }
  }
  try {
    const tree = (await parse(`UPDATE ${table} SET ${set}${where === null ? '' : ` WHERE ${where}`}`)) as {
      stmts?: { stmt?: Record<string, unknown> }[];
    };
    const statements = tree.stmts ?? [];
    if (statements.length !== 1 || !statements[0]?.stmt || !('UpdateStmt' in statements[0].stmt))
      throw new Error('not a single UPDATE');
  } catch (error) {
    throw new CutoverError(
      'BAD_REQUEST',
      `--set / --where do not make a valid UPDATE of ${table}: ${(error as Error).message}`,
    );
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The schema and table names of `users`, `app.users` or `"Users"`; anything
 * else is refused. An unquoted name is folded to lower case, as PostgreSQL
 * folds it in SQL (so `--table Users` is the table `users`); a double-quoted
 * one keeps its case and may not hold a quote or a dot. The names, not the
 * text typed, identify a backfill's progress: `Users` and `users` resume it.
 */
function tableNames(name: string): string[] {
  const part = '(?:[A-Za-z_][A-Za-z0-9_$]*|"[^".]+")';
  if (!new RegExp(`^${part}(?:\\.${part})?$`).test(name)) {
    throw new CutoverError(
      'BAD_REQUEST',
      `--table: expected a table name like users, app.users or "Users", got ${JSON.stringify(name)}`,
    );
  }
  return name.split('.').map((p) => (p.startsWith('"') ? p.slice(1, -1) : p.toLowerCase()));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
