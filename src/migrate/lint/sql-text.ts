import type { ColumnDef, Constraint, TypeName } from 'libpg-query';
import type { MigrationStatement } from './parsed-migration.js';
import { quoteIdentifier, stringsOf } from './sql-names.js';

/**
 * Pieces of SQL text for the safe alternatives, so they name the real type
 * and default instead of placeholders wherever the tree allows.
 */

/** The parser spells built-in types by their internal names; a suggestion should read like the migration did. */
const TYPE_SPELLINGS: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  varchar: 'varchar',
  bpchar: 'char',
  timestamptz: 'timestamptz',
  timetz: 'timetz',
};

export function typeText(type: TypeName | undefined): string {
  if (!type) return '<type>';
  const names = stringsOf(type.names).filter(
    (name, index, all) => !(index === 0 && all.length > 1 && name === 'pg_catalog'),
  );
  const last = names.pop() ?? '<type>';
  const base = [...names.map(quoteIdentifier), TYPE_SPELLINGS[last] ?? quoteIdentifier(last)].join('.');
  const modifiers: string[] = [];
  for (const modifier of type.typmods ?? []) {
    if ('A_Const' in modifier) modifiers.push(String(modifier.A_Const.ival?.ival ?? 0));
  }
  const array = (type.arrayBounds ?? []).map(() => '[]').join('');
  return `${base}${modifiers.length ? `(${modifiers.join(', ')})` : ''}${array}`;
}

/**
 * The text of a column's DEFAULT expression, as written. The parser gives
 * where the DEFAULT clause starts but not where it ends, so the end is the
 * next constraint of the column or, for the last sub-command, the end of the
 * statement; in any other case the caller shows a placeholder.
 */
export function defaultExpressionText(
  statement: MigrationStatement,
  column: ColumnDef,
  isLastCommand: boolean,
): string | undefined {
  const constraints = (column.constraints ?? []).flatMap((node) => ('Constraint' in node ? [node.Constraint] : []));
  const index = constraints.findIndex((constraint) => constraint.contype === 'CONSTR_DEFAULT');
  const clause = constraints[index];
  if (!clause || clause.location === undefined) return undefined;
  const end = constraintStart(constraints[index + 1]) ?? (isLastCommand ? statement.endByte : undefined);
  if (end === undefined) return undefined;
  const text = statement.source.slice(clause.location, end).trim();
  // The clause starts with the keyword itself.
  return text.slice('DEFAULT'.length).trim() || undefined;
}

function constraintStart(constraint: Constraint | undefined): number | undefined {
  return constraint?.location;
}

/**
 * The statement with `insertion` after its first `keyword` token, found by
 * PostgreSQL's scanner (so a keyword inside a string or a name never
 * matches): `CREATE INDEX i ON t (c)` with CONCURRENTLY after INDEX.
 */
export function withInsertionAfter(
  statement: MigrationStatement,
  keyword: string,
  insertion: string,
): string | undefined {
  const token = statement.tokens.find((candidate) => candidate.text.toUpperCase() === keyword);
  if (!token) return undefined;
  return `${statement.source.slice(statement.startByte, token.end)}${insertion}${statement.source.slice(token.end, statement.endByte)}`;
}
