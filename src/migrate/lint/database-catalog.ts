import { parseMigration, type MigrationStatement } from './parsed-migration.js';
import type { TableName } from './sql-names.js';
import { lastName } from './statement-parts.js';
import { droppedTableNames } from './subject-table.js';
import type { FunctionVolatility } from './volatile-functions.js';

/**
 * What a live database knows that the migration files do not: how volatile
 * a function created by an earlier migration is, which columns an earlier
 * migration already proved NOT NULL, and how big each table is. The linter
 * asks it only about the names its files mention (CatalogQuestions); the
 * answers are plain data (CatalogFacts), read once by
 * src/migrate/database-catalog-reader.ts, so the lint itself stays pure.
 */
export interface TableSize {
  schema: string;
  name: string;
  /** pg_class.reltuples: the planner's row estimate; null when the table was never vacuumed or analyzed. */
  rows: number | null;
  /** pg_total_relation_size: heap, indexes and TOAST (summed over partitions for a partitioned table). */
  bytes: number;
}

export interface CatalogFacts {
  /** pg_proc.provolatile of every function of a name (overloads each count). */
  functions: ReadonlyArray<{ name: string; volatility: FunctionVolatility }>;
  /** Columns proved NOT NULL: attnotnull, or a validated CHECK (column IS NOT NULL). */
  notNullColumns: ReadonlyArray<{ schema: string; table: string; column: string }>;
  tables: readonly TableSize[];
}

export interface DatabaseCatalog {
  /** Undefined when no function of that name exists (yet). Overloads: the most volatile, as the linter cannot tell which one a call resolves to. */
  functionVolatility(name: string): FunctionVolatility | undefined;
  /** The column is already NOT NULL or has a validated CHECK (column IS NOT NULL): SET NOT NULL skips the scan (PostgreSQL 12+). */
  provesNotNull(table: TableName, column: string): boolean;
  tableSize(table: TableName): TableSize | undefined;
}

/** The outcome of asking a live database: a linter that cannot reach it lints without it, and says why. */
export type CatalogRead = { ok: true; catalog: DatabaseCatalog; facts: CatalogFacts } | { ok: false; reason: string };

/** The names a set of migrations mentions: what to ask the database about. */
export interface CatalogQuestions {
  functions: string[];
  tables: string[];
}

const VOLATILITY_ORDER: readonly FunctionVolatility[] = ['immutable', 'stable', 'volatile'];

export function catalogOf(facts: CatalogFacts): DatabaseCatalog {
  const functions = new Map<string, FunctionVolatility>();
  for (const { name, volatility } of facts.functions) {
    const known = functions.get(name);
    if (!known || VOLATILITY_ORDER.indexOf(volatility) > VOLATILITY_ORDER.indexOf(known))
      functions.set(name, volatility);
  }
  return {
    functionVolatility: (name) => functions.get(name) ?? functions.get(name.toLowerCase()),
    provesNotNull: (table, column) => {
      const schema = resolveSchema(table, facts.tables);
      return facts.notNullColumns.some(
        (known) => known.table === table.name && known.column === column && known.schema === schema,
      );
    },
    tableSize: (table) => {
      const schema = resolveSchema(table, facts.tables);
      return facts.tables.find((known) => known.name === table.name && known.schema === schema);
    },
  };
}

/**
 * An unqualified name is looked up as PostgreSQL would with the default
 * search_path: `public` first; a table of that name in one other schema only
 * is taken to be the one meant.
 */
function resolveSchema(table: TableName, tables: readonly TableSize[]): string | undefined {
  if (table.schema) return table.schema;
  const schemas = tables.filter((known) => known.name === table.name).map((known) => known.schema);
  if (schemas.includes('public')) return 'public';
  return schemas.length === 1 ? schemas[0] : 'public';
}

/** The tables and functions the statements name, anywhere in their parse trees. */
export function catalogQuestions(statements: readonly MigrationStatement[]): CatalogQuestions {
  const functions = new Set<string>();
  const tables = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    // A relation: wrapped as { RangeVar: ... } where the tree holds any node, bare where it holds only a RangeVar.
    if (typeof node.relname === 'string') tables.add(node.relname);
    const call = node.FuncCall as { funcname?: Array<{ String?: { sval?: string } }> } | undefined;
    if (call?.funcname) {
      const name = lastName(call.funcname.flatMap((part) => (part.String?.sval ? [part.String.sval] : [])));
      if (name) functions.add(name);
    }
    for (const child of Object.values(node)) visit(child);
  };
  for (const statement of statements) {
    visit(statement.node);
    for (const name of droppedTableNames(statement)) tables.add(name);
  }
  return { functions: [...functions].sort(), tables: [...tables].sort() };
}

/** The questions of several migrations' SQL in one, so the database is asked once; a file that does not parse asks nothing. */
export async function catalogQuestionsOf(sqls: readonly string[]): Promise<CatalogQuestions> {
  const functions = new Set<string>();
  const tables = new Set<string>();
  for (const sql of sqls) {
    const parsed = await parseMigration(sql);
    if (!parsed.ok) continue;
    const questions = catalogQuestions(parsed.statements);
    for (const name of questions.functions) functions.add(name);
    for (const name of questions.tables) tables.add(name);
  }
  return { functions: [...functions].sort(), tables: [...tables].sort() };
}
