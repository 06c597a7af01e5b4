import { qualifiedTable } from '../lock-levels.js';
import type { MigrationStatement } from '../parsed-migration.js';
import { displayTable, quoteIdentifier, sameTable, stringsOf, tableNameOf, type TableName } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

/** The safe pattern: a view under the old name, created in the rename's transaction, so no query ever finds neither. */
function keepsOldNameAsView(table: TableName, later: readonly MigrationStatement[]): boolean {
  return later.some((statement) => {
    const view = 'ViewStmt' in statement.node ? tableNameOf(statement.node.ViewStmt.view) : undefined;
    return view !== undefined && sameTable(view, table);
  });
}

export const renameTable: StatementRule = {
  id: 'rename-table',
  severity: 'error',
  summary: 'ALTER TABLE ... RENAME TO',
  why: 'The running release still queries the old name: every one of its queries on the table fails the moment the rename commits.',
  safePattern:
    'Rename and leave a view under the old name in the same transaction (a simple view is updatable, so the old release keeps reading and writing through it); drop the view in a contract migration. The linter accepts a rename followed by CREATE VIEW <old name> in the same transaction.',
  check(statement, context) {
    const node = statement.node;
    if (!('RenameStmt' in node) || node.RenameStmt.renameType !== 'OBJECT_TABLE') return [];
    const table = tableNameOf(node.RenameStmt.relation);
    if (context.isNewTable(table) || (table && keepsOldNameAsView(table, context.laterInSameTransaction()))) return [];
    const from = displayTable(table);
    const to = quoteIdentifier(node.RenameStmt.newname ?? 'new_name');
    const qualifiedTo = table?.schema ? `${quoteIdentifier(table.schema)}.${to}` : to;
    return [
      {
        message: `Renaming ${from} to ${to} breaks every query of the running release on ${from}, and takes an ACCESS EXCLUSIVE lock on it.`,
        safeAlternative: [
          `-- in one transaction, so no query sees neither name:`,
          `ALTER TABLE ${from} RENAME TO ${to};`,
          `CREATE VIEW ${from} AS SELECT * FROM ${qualifiedTo};  -- updatable: the running release keeps working`,
          `-- then, in a contract migration once the old release is retired: DROP VIEW ${from};`,
        ].join('\n'),
      },
    ];
  },
};

export const dropTable: StatementRule = {
  id: 'drop-table',
  severity: 'error',
  summary: 'DROP TABLE in an expand migration',
  why: 'The running release may still read or write the table; its queries fail once the drop commits. Dropping belongs in a contract migration, which runs only after every older release has stopped.',
  safePattern:
    'Stop using the table in a release first, then drop it in a contract migration (a file in contract/ or with a `-- cutover:phase contract` header).',
  check(statement, context) {
    const node = statement.node;
    if (context.phase === 'contract' || !('DropStmt' in node) || node.DropStmt.removeType !== 'OBJECT_TABLE') return [];
    const tables = (node.DropStmt.objects ?? [])
      .flatMap((object) => ('List' in object ? [qualifiedTable(stringsOf(object.List.items))] : []))
      .filter((table) => !context.isNewTable(table));
    if (tables.length === 0) return [];
    const names = tables.map(displayTable).join(', ');
    return [
      {
        message: `Dropping ${names} in an expand migration breaks the running release if it still uses ${tables.length > 1 ? 'them' : 'it'}, and cannot be undone without a restore.`,
        safeAlternative: [
          `-- 1. release code that no longer uses ${names}`,
          `-- 2. in a contract migration (contract/ folder or this header), run after the old release is retired:`,
          `-- cutover:phase contract`,
          `SET lock_timeout = '5s';`,
          `DROP TABLE ${names};`,
        ].join('\n'),
      },
    ];
  },
};
