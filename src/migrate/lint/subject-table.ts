import { qualifiedTable } from './lock-levels.js';
import type { MigrationStatement } from './parsed-migration.js';
import { stringsOf, tableNameOf, type TableName } from './sql-names.js';

/**
 * The table a statement is about: the one whose size says how long its lock
 * or rewrite lasts. In the parse tree that is the first relation named
 * (ALTER TABLE's, CREATE INDEX's, TRUNCATE's first, ...), except for DROP,
 * whose objects are name lists rather than relations.
 */
export function subjectTable(statement: MigrationStatement): TableName | undefined {
  const node = statement.node;
  if ('DropStmt' in node) {
    const first = node.DropStmt.objects?.[0];
    if (!first || !('List' in first)) return undefined;
    const parts = stringsOf(first.List.items);
    if (node.DropStmt.removeType === 'OBJECT_TABLE') return qualifiedTable(parts);
    // DROP TRIGGER t ON [schema.]table: the table, then the trigger's name.
    if (node.DropStmt.removeType === 'OBJECT_TRIGGER') return qualifiedTable(parts.slice(0, -1));
    return undefined;
  }
  return firstRelation(node);
}

function firstRelation(value: unknown): TableName | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstRelation(item);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const node = value as Record<string, unknown>;
  // A relation: wrapped as { RangeVar: ... } where the tree holds any node, bare where it holds only a RangeVar.
  if (typeof node.relname === 'string') return tableNameOf(node);
  for (const child of Object.values(node)) {
    const found = firstRelation(child);
    if (found) return found;
  }
  return undefined;
}

/** Table names in DROP TABLE / DROP TRIGGER, which are not RangeVars: for the questions put to the catalog. */
export function droppedTableNames(statement: MigrationStatement): string[] {
  const table = 'DropStmt' in statement.node ? subjectTable(statement) : undefined;
  return table ? [table.name] : [];
}
