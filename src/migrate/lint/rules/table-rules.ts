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
  lock: "ACCESS EXCLUSIVE on the table (brief); the hazard is the running release's queries.",
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

/** What DROP removes that a running release queries by name: tables, and the views over them. */
const DROPPED_RELATIONS: Record<string, { keyword: string; noun: string }> = {
  OBJECT_TABLE: { keyword: 'TABLE', noun: 'table' },
  OBJECT_VIEW: { keyword: 'VIEW', noun: 'view' },
  OBJECT_MATVIEW: { keyword: 'MATERIALIZED VIEW', noun: 'materialized view' },
};

export const dropTable: StatementRule = {
  id: 'drop-table',
  severity: 'error',
  summary: 'DROP TABLE, VIEW or MATERIALIZED VIEW in an expand migration',
  why: 'The running release may still read or write the table (or query the view, such as the one a rename left under the old name); its queries fail once the drop commits. Dropping belongs in a contract migration, which runs only after every older release has stopped.',
  lock: 'ACCESS EXCLUSIVE on the table, and on every table whose foreign key references it.',
  safePattern:
    'Stop using the table in a release first, then drop it in a contract migration (a file in contract/ or with a `-- cutover:phase contract` header).',
  check(statement, context) {
    const node = statement.node;
    if (context.phase === 'contract' || !('DropStmt' in node)) return [];
    const kind = DROPPED_RELATIONS[node.DropStmt.removeType ?? ''];
    if (kind === undefined) return [];
    const tables = (node.DropStmt.objects ?? [])
      .flatMap((object) => ('List' in object ? [qualifiedTable(stringsOf(object.List.items))] : []))
      .filter((table) => !context.isNewTable(table));
    if (tables.length === 0) return [];
    const names = tables.map(displayTable).join(', ');
    return [
      {
        message: `Dropping ${kind.noun} ${names} in an expand migration breaks the running release if it still uses ${tables.length > 1 ? 'them' : 'it'}${kind.keyword === 'TABLE' ? ', and cannot be undone without a restore' : ''}.`,
        safeAlternative: [
          `-- 1. release code that no longer uses ${names}`,
          `-- 2. in a contract migration (contract/ folder or this header), run after the old release is retired:`,
          `-- cutover:phase contract`,
          `SET lock_timeout = '5s';`,
          `DROP ${kind.keyword} ${names};`,
        ].join('\n'),
      },
    ];
  },
};

export const dropTrigger: StatementRule = {
  id: 'drop-trigger',
  severity: 'error',
  summary: 'DROP TRIGGER in an expand migration',
  why: 'DROP TRIGGER takes an ACCESS EXCLUSIVE lock on the table (the lock table in the manual does not list it; the command does), and the running release may rely on what the trigger does: a trigger that keeps a copied column in step, fills an audit table or enforces a rule. Removing it belongs in a contract migration, once no running release depends on it.',
  lock: 'ACCESS EXCLUSIVE on the table (brief once granted; every query queues behind it while it waits).',
  safePattern:
    "Drop it in a contract migration (contract/ folder or a `-- cutover:phase contract` header), after SET lock_timeout = '5s'.",
  check(statement, context) {
    const node = statement.node;
    if (context.phase === 'contract' || !('DropStmt' in node) || node.DropStmt.removeType !== 'OBJECT_TRIGGER')
      return [];
    return (node.DropStmt.objects ?? []).flatMap((object) => {
      if (!('List' in object)) return [];
      const parts = stringsOf(object.List.items);
      const table = qualifiedTable(parts.slice(0, -1));
      if (context.isNewTable(table)) return [];
      const trigger = quoteIdentifier(parts[parts.length - 1] ?? 'trigger');
      const t = displayTable(table);
      return [
        {
          message: `Dropping trigger ${trigger} takes an ACCESS EXCLUSIVE lock on ${t}, and the running release may still depend on what ${trigger} does.`,
          safeAlternative: [
            `-- in a contract migration, once no running release relies on ${trigger}:`,
            `-- cutover:phase contract`,
            `SET lock_timeout = '5s';`,
            `DROP TRIGGER ${node.DropStmt.missing_ok ? 'IF EXISTS ' : ''}${trigger} ON ${t};`,
          ].join('\n'),
        },
      ];
    });
  },
};

export const truncateCascade: StatementRule = {
  id: 'truncate-cascade',
  severity: 'error',
  summary: 'TRUNCATE ... CASCADE',
  why: 'CASCADE also empties every table with a foreign key to the named ones, and the tables referencing those, none of them named in the migration; each is emptied under an ACCESS EXCLUSIVE lock and only a restore brings the rows back.',
  lock: 'ACCESS EXCLUSIVE on each named table and on every table it reaches through foreign keys.',
  safePattern:
    'Name every table to empty (TRUNCATE a, b RESTRICT fails if another table still references them), or delete the rows you mean with DELETE in batches.',
  check(statement) {
    const node = statement.node;
    if (!('TruncateStmt' in node) || node.TruncateStmt.behavior !== 'DROP_CASCADE') return [];
    const tables = (node.TruncateStmt.relations ?? [])
      .flatMap((relation) => ('RangeVar' in relation ? [displayTable(tableNameOf(relation.RangeVar))] : []))
      .join(', ');
    return [
      {
        message: `TRUNCATE ${tables} CASCADE also empties every table that references ${tables} through a foreign key (and the tables referencing those), under ACCESS EXCLUSIVE locks, without naming them.`,
        safeAlternative: [
          `-- name every table to empty; RESTRICT (the default) fails if another table still references them:`,
          `TRUNCATE ${tables};`,
        ].join('\n'),
      },
    ];
  },
};
