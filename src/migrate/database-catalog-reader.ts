import { parse } from 'libpg-query';
import pg from 'pg';
import { redactUrl } from '../config/redact.js';
import { catalogOf, type CatalogFacts, type CatalogQuestions, type CatalogRead } from './lint/database-catalog.js';
import { notNullCheckColumns } from './lint/migration-state.js';
import type { FunctionVolatility } from './lint/volatile-functions.js';

/**
 * Reads what the linter asks of a live database (see
 * lint/database-catalog.ts) over one short, read-only connection: the
 * catalog only, parameterised queries only, a few seconds at most. Anything
 * that goes wrong is an answer ({ ok: false, reason }), never a throw: a
 * lint without the catalog is still a lint.
 */
export interface CatalogReadOptions {
  /** To connect (default 3 s). */
  connectTimeoutMs?: number;
  /** For each query (default 5 s); the server enforces it too (statement_timeout). */
  statementTimeoutMs?: number;
  applicationName?: string;
}

const VOLATILITY: Readonly<Record<string, FunctionVolatility>> = { i: 'immutable', s: 'stable', v: 'volatile' };

/** Every function of the asked names, in any schema (an extension's, pg_catalog's, the app's). */
const FUNCTIONS_SQL = `SELECT p.proname AS name, p.provolatile AS volatility
  FROM pg_catalog.pg_proc p
 WHERE p.proname = ANY($1::text[]) AND p.prokind IN ('f', 'w')`;

/**
 * Tables (and indexes, which REINDEX names) with the planner's row estimate
 * and their size on disk. A partitioned table holds no rows itself: its
 * partitions' figures are summed (pg_partition_tree, PostgreSQL 12+).
 */
const TABLES_SQL = `SELECT n.nspname AS schema, c.relname AS name,
       CASE WHEN c.relkind = 'p' THEN (
              SELECT sum(greatest(l.reltuples, 0))::float8 FROM pg_catalog.pg_partition_tree(c.oid) t
                JOIN pg_catalog.pg_class l ON l.oid = t.relid WHERE t.isleaf)
            WHEN c.reltuples < 0 THEN NULL
            ELSE c.reltuples::float8 END AS rows,
       CASE WHEN c.relkind = 'p' THEN (
              SELECT coalesce(sum(pg_catalog.pg_total_relation_size(t.relid)), 0)::float8
                FROM pg_catalog.pg_partition_tree(c.oid) t WHERE t.isleaf)
            ELSE pg_catalog.pg_total_relation_size(c.oid)::float8 END AS bytes
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'm', 'i', 'I')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;

/** Columns declared NOT NULL. */
const NOT_NULL_SQL = `SELECT n.nspname AS schema, c.relname AS "table", a.attname AS "column"
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull`;

/**
 * Validated CHECK constraints, as PostgreSQL prints them: the linter's own
 * reading (notNullCheckColumns, through the parser) says which columns each
 * proves NOT NULL, `CHECK (a IS NOT NULL AND b IS NOT NULL)` included, as it
 * does for a check added in the file. Before, only the exact text
 * `CHECK ((col IS NOT NULL))` counted here.
 */
const CHECKS_SQL = `SELECT n.nspname AS schema, c.relname AS "table", pg_catalog.pg_get_constraintdef(k.oid) AS definition
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = ANY($1::text[]) AND k.contype = 'c' AND k.convalidated
   AND pg_catalog.pg_get_constraintdef(k.oid) LIKE '%IS NOT NULL%'`;

/**
 * The columns a constraint's definition, as pg_get_constraintdef prints it
 * (`CHECK (((a IS NOT NULL) AND (b IS NOT NULL)))`), proves NOT NULL; none
 * when the text does not parse as a constraint.
 */
export async function checkedNotNullColumns(definition: string): Promise<string[]> {
  const tree = await parse(`ALTER TABLE t ADD ${definition}`).catch(() => null);
  const statement = tree?.stmts?.[0]?.stmt;
  if (tree?.stmts?.length !== 1 || !statement || !('AlterTableStmt' in statement)) return [];
  const command = statement.AlterTableStmt.cmds?.[0];
  const constraint = command && 'AlterTableCmd' in command ? command.AlterTableCmd.def : undefined;
  return constraint && 'Constraint' in constraint ? notNullCheckColumns(constraint.Constraint) : [];
}

async function provedByChecks(
  checks: ReadonlyArray<{ schema: string; table: string; definition: string }>,
): Promise<Array<{ schema: string; table: string; column: string }>> {
  const proved = [];
  for (const check of checks)
    for (const column of await checkedNotNullColumns(check.definition))
      proved.push({ schema: check.schema, table: check.table, column });
  return proved;
}

export async function readDatabaseCatalog(
  url: string,
  questions: CatalogQuestions,
  options: CatalogReadOptions = {},
): Promise<CatalogRead> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
    statement_timeout: statementTimeoutMs,
    // The client gives up too, in case the server never answers at all.
    query_timeout: statementTimeoutMs + 1_000,
    application_name: options.applicationName ?? 'cutover migrate lint',
  });
  // A connection lost between queries is reported by the next query; without a listener it would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    // The lint only reads: make sure nothing it sends could write, whatever the role may do.
    await client.query('SET default_transaction_read_only = on');
    const facts = await queryFacts(client, questions);
    return { ok: true, catalog: catalogOf(facts), facts };
  } catch (error) {
    return { ok: false, reason: `${redactUrl(url)}: ${(error as Error).message}` };
  } finally {
    await client.end().catch(() => {});
  }
}

async function queryFacts(client: pg.Client, questions: CatalogQuestions): Promise<CatalogFacts> {
  const none = questions.tables.length === 0;
  const functions =
    questions.functions.length === 0
      ? []
      : (await client.query<{ name: string; volatility: string }>(FUNCTIONS_SQL, [questions.functions])).rows;
  const tables = none
    ? []
    : (
        await client.query<{ schema: string; name: string; rows: number | null; bytes: number }>(TABLES_SQL, [
          questions.tables,
        ])
      ).rows;
  const notNullColumns = none
    ? []
    : [
        ...(await client.query<{ schema: string; table: string; column: string }>(NOT_NULL_SQL, [questions.tables]))
          .rows,
        ...(await provedByChecks(
          (await client.query<{ schema: string; table: string; definition: string }>(CHECKS_SQL, [questions.tables]))
            .rows,
        )),
      ];
  return {
    functions: functions.flatMap((row) => {
      const volatility = VOLATILITY[row.volatility];
      return volatility ? [{ name: row.name, volatility }] : [];
    }),
    tables: tables.map((row) => ({
      schema: row.schema,
      name: row.name,
      rows: row.rows === null ? null : Number(row.rows),
      bytes: Number(row.bytes),
    })),
    notNullColumns,
  };
}
