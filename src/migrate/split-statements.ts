import { parse } from 'libpg-query';
import { CutoverError } from '../core/errors.js';

/**
 * A migration file cut into its statements by PostgreSQL's own parser
 * (libpg-query), so a `;` inside a string, a dollar-quoted function body or a
 * comment never splits a statement. Needed to run a file outside a
 * transaction one statement at a time (CREATE INDEX CONCURRENTLY refuses to
 * run in a transaction block, and a multi-statement query is one).
 */
export interface SqlStatement {
  /** The statement's text, without its terminating semicolon. */
  text: string;
  /** 1-based line of the statement's first character in the file. */
  line: number;
  /** The parse tree node's type: CreateStmt, IndexStmt, TransactionStmt, ... */
  kind: string;
  /** The node itself, for callers that look inside (is it CONCURRENTLY?). */
  node: Record<string, unknown>;
}

interface ParsedStatement { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }

export async function splitStatements(sql: string, file = 'the migration'): Promise<SqlStatement[]> {
  let tree: { stmts?: ParsedStatement[] };
  try {
    tree = (await parse(sql));
  } catch (error) {
    throw new CutoverError('MIGRATION_INVALID', `${file}: ${(error as Error).message}`, { hint: 'Fix the SQL; `cutover migrate lint` shows where the parser stopped.' });
  }
  // Locations are byte offsets into the UTF-8 text.
  const bytes = Buffer.from(sql, 'utf8');
  const statements: SqlStatement[] = [];
  for (const entry of tree.stmts ?? []) {
    const start = entry.stmt_location ?? 0;
    const end = entry.stmt_len ? start + entry.stmt_len : bytes.length;
    const raw = bytes.subarray(start, end).toString('utf8');
    const text = stripLeading(raw).replace(/;\s*$/, '').trimEnd();
    if (text === '' || !entry.stmt) continue;
    const offset = start + (Buffer.byteLength(raw, 'utf8') - Buffer.byteLength(stripLeading(raw), 'utf8'));
    const line = bytes.subarray(0, offset).toString('utf8').split('\n').length;
    const kind = Object.keys(entry.stmt)[0] ?? 'Unknown';
    statements.push({ text, line, kind, node: (entry.stmt[kind] ?? {}) as Record<string, unknown> });
  }
  return statements;
}

/** Leading whitespace and `--` / `/* *\/` comments, which the parser counts into the statement's span. */
function stripLeading(text: string): string {
  let rest = text;
  for (;;) {
    const trimmed = rest.replace(/^\s+/, '');
    if (trimmed.startsWith('--')) {
      const newline = trimmed.indexOf('\n');
      rest = newline < 0 ? '' : trimmed.slice(newline + 1);
    } else if (trimmed.startsWith('/*')) {
      const close = trimmed.indexOf('*/');
      rest = close < 0 ? '' : trimmed.slice(close + 2);
    } else {
      return trimmed;
    }
  }
}

/** Statements PostgreSQL refuses inside a transaction block. */
export function needsOwnTransaction(statement: SqlStatement): boolean {
  const node = statement.node;
  if ((statement.kind === 'IndexStmt' || statement.kind === 'DropStmt') && node.concurrent === true) return true;
  if (statement.kind === 'ReindexStmt') {
    const params = Array.isArray(node.params) ? (node.params as { DefElem?: { defname?: string } }[]) : [];
    return params.some((param) => param.DefElem?.defname === 'concurrently');
  }
  // VACUUM cannot run in a transaction; ANALYZE (the same node without is_vacuumcmd) can.
  if (statement.kind === 'VacuumStmt') return node.is_vacuumcmd === true;
  if (statement.kind === 'CreatedbStmt' || statement.kind === 'DropdbStmt' || statement.kind === 'AlterSystemStmt') return true;
  // ALTER TYPE ... ADD VALUE could not run in a transaction before PostgreSQL 12; it can now.
  return false;
}
