import type { ColumnDef, Node } from 'libpg-query';
import { addedColumn, alterTableCommands, columnConstraints, functionsCalledIn, lastName } from '../statement-parts.js';
import { displayTable, quoteIdentifier, stringsOf, tableNameOf, type TableName } from '../sql-names.js';
import { defaultExpressionText, typeText } from '../sql-text.js';
import { judgeFunction } from '../volatile-functions.js';
import type { StatementContext } from '../migration-state.js';
import type { MigrationStatement } from '../parsed-migration.js';
import type { RuleHit, StatementRule } from './lint-rule.js';

/** `NULL`, or `NULL::type` (casts of it, however many). */
function isNullConstant(expression: Node | undefined): boolean {
  if (!expression) return false;
  if ('TypeCast' in expression) return isNullConstant(expression.TypeCast.arg);
  return 'A_Const' in expression && Boolean(expression.A_Const.isnull);
}

/** Columns that PostgreSQL fills from a sequence, row by row, when added. */
const SERIAL_TYPES = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** Why adding the column computes a value for every existing row, or undefined when it does not. */
export function volatileFill(column: ColumnDef, context: StatementContext): string | undefined {
  const type = lastName(stringsOf(column.typeName?.names));
  if (SERIAL_TYPES.has(type)) return `its type ${type} fills every existing row from a sequence (nextval is volatile)`;
  for (const constraint of columnConstraints(column)) {
    if (constraint.contype === 'CONSTR_IDENTITY')
      return 'an identity column fills every existing row from its sequence';
    if (constraint.contype === 'CONSTR_GENERATED' && constraint.generated_kind !== 'v')
      return 'a STORED generated column is computed and written for every existing row';
    if (constraint.contype === 'CONSTR_DEFAULT') {
      for (const called of functionsCalledIn(constraint.raw_expr)) {
        const judged = judgeFunction(called, context.declaredVolatility(called), context.databaseVolatility(called));
        if (!judged.volatile) continue;
        if (judged.because === 'unknown')
          return `its default calls ${called}(), which the linter does not know to be immutable or stable; PostgreSQL creates a function VOLATILE unless it says otherwise, and a volatile default is evaluated for every existing row`;
        const how =
          judged.because === 'declared in the file'
            ? 'declared VOLATILE in this file'
            : judged.because === 'in the database'
              ? 'VOLATILE in the database (pg_proc)'
              : 'volatile';
        return `its default calls ${called}(), which is ${how}, so it is evaluated for every existing row`;
      }
    }
  }
  return undefined;
}

/** Every column an ALTER TABLE adds to a table that existed before this file, with whether it is the statement's last sub-command. */
function addedColumns(
  statement: MigrationStatement,
  isNewTable: (table: TableName | undefined) => boolean,
): Array<{ table: TableName | undefined; column: ColumnDef; last: boolean }> {
  const commands = alterTableCommands(statement);
  return commands.flatMap(({ table, command }, index) => {
    const column = addedColumn(command);
    return column && !isNewTable(table) ? [{ table, column, last: index === commands.length - 1 }] : [];
  });
}

export const addColumnVolatileDefault: StatementRule = {
  id: 'add-column-volatile-default',
  severity: 'error',
  summary:
    'ADD COLUMN with a volatile default (random(), gen_random_uuid(), nextval(), any function not known immutable/stable, serial, identity, STORED generated)',
  why: 'A non-volatile default is stored once and added instantly (PostgreSQL 11+); a volatile one is computed for every row, so PostgreSQL rewrites the whole table and its indexes while holding an ACCESS EXCLUSIVE lock: no reads, no writes until it finishes. A function is volatile unless declared IMMUTABLE or STABLE, so one the linter does not know (a function of your own, created by an earlier migration) counts as volatile; one this file creates IMMUTABLE or STABLE does not.',
  lock: 'ACCESS EXCLUSIVE on the table for the whole rewrite of the table and its indexes.',
  safePattern:
    'Add the column without a default, set the default for new rows in a second statement, then backfill existing rows in batches:\n  ALTER TABLE t ADD COLUMN c uuid;\n  ALTER TABLE t ALTER COLUMN c SET DEFAULT gen_random_uuid();\n  -- backfill: cutover db backfill --table t --set "c = gen_random_uuid()" --where "c IS NULL"',
  check(statement, context) {
    const hits: RuleHit[] = [];
    for (const { table, column, last } of addedColumns(statement, (t) => context.isNewTable(t))) {
      const reason = volatileFill(column, context);
      if (!reason) continue;
      const name = quoteIdentifier(column.colname ?? 'column');
      const t = displayTable(table);
      const expression = defaultExpressionText(statement, column, last) ?? '<the default expression>';
      const type = SERIAL_TYPES.has(lastName(stringsOf(column.typeName?.names))) ? 'bigint' : typeText(column.typeName);
      hits.push({
        message: `Adding column ${name} to ${t} rewrites the whole table under an ACCESS EXCLUSIVE lock (no reads or writes of ${t} until it finishes): ${reason}.`,
        safeAlternative: [
          `ALTER TABLE ${t} ADD COLUMN ${name} ${type};`,
          `ALTER TABLE ${t} ALTER COLUMN ${name} SET DEFAULT ${expression};  -- new rows only: instant`,
          `-- then fill existing rows in batches: cutover db backfill --table ${t} --set "${name} = ${expression}" --where "${name} IS NULL"`,
        ].join('\n'),
      });
    }
    return hits;
  },
};

export const addColumnNotNullNoDefault: StatementRule = {
  id: 'add-column-not-null-no-default',
  severity: 'error',
  summary: 'ADD COLUMN ... NOT NULL without a DEFAULT',
  why: 'On a table with rows it fails (the existing rows would be NULL); on an empty one it succeeds, and then every INSERT of the running release, which does not know the column, fails with a not-null violation.',
  lock: 'ACCESS EXCLUSIVE on the table (brief); the hazard is the failing INSERTs of the running release.',
  safePattern:
    "Give it a constant default (instant since PostgreSQL 11), or add it nullable, backfill, and make it NOT NULL through a validated CHECK:\n  ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT '';",
  check(statement, context) {
    const hits: RuleHit[] = [];
    for (const { table, column } of addedColumns(statement, (t) => context.isNewTable(t))) {
      const constraints = columnConstraints(column);
      const notNull = constraints.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY');
      // DEFAULT NULL fills nothing: NOT NULL DEFAULT NULL fails on rows and breaks INSERTs just as no default does.
      const filled = constraints.some(
        (c) =>
          (c.contype === 'CONSTR_DEFAULT' && !isNullConstant(c.raw_expr)) ||
          c.contype === 'CONSTR_IDENTITY' ||
          c.contype === 'CONSTR_GENERATED',
      );
      if (!notNull || filled || SERIAL_TYPES.has(lastName(stringsOf(column.typeName?.names)))) continue;
      const name = quoteIdentifier(column.colname ?? 'column');
      const t = displayTable(table);
      const check = quoteIdentifier(`${table?.name ?? 't'}_${column.colname ?? 'c'}_not_null`);
      const type = typeText(column.typeName);
      hits.push({
        message: `Adding NOT NULL column ${name} without a default to ${t} fails if ${t} has rows, and otherwise breaks every INSERT of the running release, which does not set ${name}.`,
        safeAlternative: [
          `-- either a constant default (no rewrite since PostgreSQL 11):`,
          `ALTER TABLE ${t} ADD COLUMN ${name} ${type} NOT NULL DEFAULT <constant>;`,
          `-- or nullable first, then NOT NULL once every row has a value:`,
          `ALTER TABLE ${t} ADD COLUMN ${name} ${type};`,
          `-- backfill: cutover db backfill --table ${t} --set "${name} = <value>" --where "${name} IS NULL"`,
          `ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${name} IS NOT NULL) NOT VALID;`,
          `ALTER TABLE ${t} VALIDATE CONSTRAINT ${check};  -- in a later transaction`,
          `ALTER TABLE ${t} ALTER COLUMN ${name} SET NOT NULL;`,
          `ALTER TABLE ${t} DROP CONSTRAINT ${check};`,
        ].join('\n'),
      });
    }
    return hits;
  },
};

export const changeColumnType: StatementRule = {
  id: 'change-column-type',
  severity: 'error',
  summary: 'ALTER COLUMN ... TYPE',
  why: 'Most type changes rewrite the table and rebuild its indexes under an ACCESS EXCLUSIVE lock, and the running release keeps reading and writing the old type. (varchar(n) to text or to a longer varchar skips the rewrite but still takes the lock: disable the rule for that statement with the reason.)',
  lock: 'ACCESS EXCLUSIVE on the table, for the rewrite and index rebuild when the type change needs one.',
  safePattern:
    'Expand: add a column of the new type, write both, backfill; contract: drop the old column.\n  ALTER TABLE t ADD COLUMN c_new bigint;\n  -- the new release writes c and c_new; backfill c_new in batches\n  -- contract migration: ALTER TABLE t DROP COLUMN c;',
  check(statement, context) {
    return alterTableCommands(statement).flatMap(({ table, command }) => {
      if (command.subtype !== 'AT_AlterColumnType' || context.isNewTable(table)) return [];
      const name = quoteIdentifier(command.name ?? 'column');
      const t = displayTable(table);
      const newType =
        command.def && 'ColumnDef' in command.def ? typeText(command.def.ColumnDef.typeName) : '<new type>';
      const newColumn = quoteIdentifier(`${command.name ?? 'column'}_new`);
      return [
        {
          message: `Changing the type of ${t}.${name} to ${newType} takes an ACCESS EXCLUSIVE lock on ${t} (no reads or writes) and, for most type changes, rewrites the table and every index; the running release still expects the old type.`,
          safeAlternative: [
            `ALTER TABLE ${t} ADD COLUMN ${newColumn} ${newType};`,
            `-- the new release writes both ${name} and ${newColumn} (or a trigger copies ${name} into ${newColumn})`,
            `-- backfill: cutover db backfill --table ${t} --set "${newColumn} = ${name}::${newType}" --where "${newColumn} IS NULL"`,
            `-- the new release reads ${newColumn}; then, in a contract migration: ALTER TABLE ${t} DROP COLUMN ${name};`,
          ].join('\n'),
        },
      ];
    });
  },
};

export const renameColumn: StatementRule = {
  id: 'rename-column',
  severity: 'error',
  summary: 'RENAME COLUMN',
  why: 'The running release still reads and writes the old name: its queries fail the moment the rename commits. No order of deploy and migration makes a rename safe for both releases.',
  lock: "ACCESS EXCLUSIVE on the table (brief); the hazard is the running release's queries.",
  safePattern:
    'Add the new column, write both, backfill, read the new one, then drop the old one in a contract migration.',
  check(statement, context) {
    const node = statement.node;
    if (!('RenameStmt' in node) || node.RenameStmt.renameType !== 'OBJECT_COLUMN') return [];
    const rename = node.RenameStmt;
    const table = tableNameOf(rename.relation);
    if (context.isNewTable(table)) return [];
    const t = displayTable(table);
    const from = quoteIdentifier(rename.subname ?? 'old');
    const to = quoteIdentifier(rename.newname ?? 'new');
    return [
      {
        message: `Renaming ${t}.${from} to ${to} breaks every query of the running release that uses ${from}, and takes an ACCESS EXCLUSIVE lock on ${t}.`,
        safeAlternative: [
          `ALTER TABLE ${t} ADD COLUMN ${to} <type of ${from}>;`,
          `-- the new release writes both ${from} and ${to}; backfill: cutover db backfill --table ${t} --set "${to} = ${from}" --where "${to} IS NULL"`,
          `-- the new release reads ${to}; then, in a contract migration: ALTER TABLE ${t} DROP COLUMN ${from};`,
        ].join('\n'),
      },
    ];
  },
};

export const dropColumn: StatementRule = {
  id: 'drop-column',
  severity: 'error',
  summary: 'DROP COLUMN in an expand migration',
  why: 'The running release still selects, inserts or updates the column (ORMs list every column they know), so its queries fail once the drop commits. Dropping belongs in a contract migration, which runs only after every older release has stopped.',
  lock: "ACCESS EXCLUSIVE on the table (brief); the hazard is the running release's queries.",
  safePattern:
    'Stop using the column in a release first, then drop it in a contract migration (a file in contract/ or with a `-- cutover:phase contract` header).',
  check(statement, context) {
    if (context.phase === 'contract') return [];
    return alterTableCommands(statement).flatMap(({ table, command }) => {
      if (command.subtype !== 'AT_DropColumn' || context.isNewTable(table)) return [];
      const t = displayTable(table);
      const name = quoteIdentifier(command.name ?? 'column');
      return [
        {
          message: `Dropping ${t}.${name} in an expand migration breaks the running release, which still uses ${name}; the drop also takes an ACCESS EXCLUSIVE lock on ${t}.`,
          safeAlternative: [
            `-- 1. release code that no longer reads or writes ${name}`,
            `-- 2. in a contract migration (contract/ folder or this header), run after the old release is retired:`,
            `-- cutover:phase contract`,
            `SET lock_timeout = '5s';`,
            `ALTER TABLE ${t} DROP COLUMN ${name};`,
          ].join('\n'),
        },
      ];
    });
  },
};

export const dropNotNull: StatementRule = {
  id: 'drop-not-null',
  severity: 'warning',
  summary: 'ALTER COLUMN ... DROP NOT NULL in an expand migration',
  why: 'Once the column may hold NULL, the new release (or a backfill) can write one while the old release is still running, and the old release was written for a column that never is NULL: its reads, sorts and arithmetic on the value break. Relaxing NOT NULL belongs in a contract migration; the usual exception is a column the new release stops writing before it is dropped, which the old release still reads but never receives a NULL for until the old release is gone.',
  lock: 'ACCESS EXCLUSIVE on the table (brief: no scan).',
  safePattern:
    'Drop NOT NULL in a contract migration; if the new release must stop writing the column while the old one runs, give it a DEFAULT instead (instant), or disable the rule for the statement with that reason.',
  check(statement, context) {
    if (context.phase === 'contract') return [];
    return alterTableCommands(statement).flatMap(({ table, command }) => {
      if (command.subtype !== 'AT_DropNotNull' || context.isNewTable(table)) return [];
      const t = displayTable(table);
      const name = quoteIdentifier(command.name ?? 'column');
      return [
        {
          message: `Dropping NOT NULL on ${t}.${name} in an expand migration lets NULLs in while the running release still assumes ${name} is never NULL.`,
          safeAlternative: [
            `-- if the new release stops writing ${name}, keep NOT NULL and give it a default (instant):`,
            `ALTER TABLE ${t} ALTER COLUMN ${name} SET DEFAULT <value>;`,
            `-- otherwise, in a contract migration once the old release is retired:`,
            `-- cutover:phase contract`,
            `ALTER TABLE ${t} ALTER COLUMN ${name} DROP NOT NULL;`,
          ].join('\n'),
        },
      ];
    });
  },
};
