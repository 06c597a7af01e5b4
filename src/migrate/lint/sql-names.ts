import type { Node, RangeVar } from 'libpg-query';

/**
 * Names of tables, columns and constraints as the rules compare and print
 * them. The parser has already folded unquoted identifiers to lower case, so
 * `Users` and `users` arrive equal and `"Users"` arrives as `Users`.
 */
export interface TableName {
  schema?: string;
  name: string;
}

export function tableNameOf(relation: RangeVar | undefined): TableName | undefined {
  if (!relation?.relname) return undefined;
  return relation.schemaname ? { schema: relation.schemaname, name: relation.relname } : { name: relation.relname };
}

/** `users` and `public.users` are taken as the same table: a migration rarely mixes both spellings for two tables. */
export function sameTable(a: TableName, b: TableName): boolean {
  return a.name === b.name && (a.schema === undefined || b.schema === undefined || a.schema === b.schema);
}

export function displayTable(table: TableName | undefined): string {
  if (!table) return 'the table';
  return table.schema ? `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}` : quoteIdentifier(table.name);
}

/** Quotes an identifier only when PostgreSQL would otherwise read it differently, so suggested SQL looks hand-written. */
export function quoteIdentifier(name: string): string {
  let plain = name.length > 0 && !isDigit(name.charAt(0));
  for (const character of name) {
    if (!(isLowerLetter(character) || isDigit(character) || character === '_' || character === '$')) plain = false;
  }
  return plain ? name : `"${name.split('"').join('""')}"`;
}

/** The strings of a list of `String` nodes, e.g. a qualified name `[schema, name]` or a column list. */
export function stringsOf(nodes: Node[] | undefined): string[] {
  const strings: string[] = [];
  for (const node of nodes ?? []) {
    if ('String' in node && node.String.sval !== undefined) strings.push(node.String.sval);
  }
  return strings;
}

function isLowerLetter(character: string): boolean {
  return character >= 'a' && character <= 'z';
}

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}
