import type { Constraint } from 'libpg-query';
import type { StatementContext } from '../migration-state.js';
import type { MigrationStatement } from '../parsed-migration.js';
import { addedConstraints, alterTableCommands, type AddedConstraint } from '../statement-parts.js';
import { displayTable, quoteIdentifier, stringsOf, tableNameOf, type TableName } from '../sql-names.js';
import type { RuleHit, StatementRule } from './lint-rule.js';

const LATER_TRANSACTION =
  '-- in a later transaction: a later migration file, or a file with a `-- cutover:no-transaction` header';

/** Constraints added to tables that existed before this file; a new, empty table has nothing to scan. */
function constraintsOnExistingTables(statement: MigrationStatement, context: StatementContext): AddedConstraint[] {
  return addedConstraints(statement).filter(({ table }) => !context.isNewTable(table));
}

/** The name PostgreSQL would give, so the suggested VALIDATE can name it. */
function constraintName(added: AddedConstraint, suffix: string): string {
  if (added.constraint.conname) return added.constraint.conname;
  const columns = added.column ? [added.column] : stringsOf(added.constraint.fk_attrs ?? added.constraint.keys);
  return [added.table?.name ?? 'table', ...columns, suffix].join('_');
}

/**
 * The rewritten ADD CONSTRAINT when the statement holds just that one
 * constraint (NOT VALID goes at its end); otherwise undefined and the
 * alternative describes the change instead.
 */
function withNotValid(statement: MigrationStatement, added: AddedConstraint): string | undefined {
  const single = alterTableCommands(statement).length === 1 && added.column === undefined;
  return single && added.constraint.conname ? `${statement.text} NOT VALID;` : undefined;
}

/**
 * VALIDATE CONSTRAINT in the same transaction as the ADD CONSTRAINT ... NOT
 * VALID it validates: the ADD's lock is held until commit, so the scan runs
 * under it anyway and NOT VALID bought nothing.
 */
function validatedInSameTransaction(
  statement: MigrationStatement,
  context: StatementContext,
  kind: 'check' | 'foreign key' | 'not null',
): RuleHit[] {
  return alterTableCommands(statement).flatMap(({ table, command }) => {
    if (command.subtype !== 'AT_ValidateConstraint' || !command.name) return [];
    const pending = context.pendingConstraint(table, command.name);
    if (!pending || pending.kind !== kind || pending.transactionId !== context.transactionId) return [];
    const t = displayTable(table);
    const lock = kind === 'foreign key' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    return [
      {
        message: `${command.name} is validated in the same transaction that added it NOT VALID: the ${lock} lock taken by ADD CONSTRAINT is held until commit, so the validating scan of ${t} runs under it and NOT VALID gains nothing.`,
        safeAlternative: [
          `-- commit between the two steps:`,
          `-- migration 1: ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdentifier(command.name)} ... NOT VALID;`,
          `-- migration 2 (or the same file with a \`-- cutover:no-transaction\` header):`,
          `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdentifier(command.name)};`,
        ].join('\n'),
      },
    ];
  });
}

function isEnforced(constraint: Constraint): boolean {
  return constraint.is_enforced !== false;
}

export const addForeignKeyNotValid: StatementRule = {
  id: 'add-foreign-key-not-valid',
  severity: 'error',
  summary: 'ADD FOREIGN KEY without NOT VALID (or validated in the same transaction)',
  why: 'Adding a foreign key checks every existing row while holding a SHARE ROW EXCLUSIVE lock on both tables: writes to either wait for the whole scan.',
  lock: 'SHARE ROW EXCLUSIVE on both tables for the whole validating scan (VALIDATE CONSTRAINT later: SHARE UPDATE EXCLUSIVE on the table, ROW SHARE on the referenced one).',
  safePattern:
    'Add it NOT VALID (new rows are checked at once, no scan), then VALIDATE CONSTRAINT in a later transaction, which scans under SHARE UPDATE EXCLUSIVE and lets reads and writes through:\n  ALTER TABLE t ADD CONSTRAINT t_o_fkey FOREIGN KEY (o) REFERENCES o (id) NOT VALID;\n  ALTER TABLE t VALIDATE CONSTRAINT t_o_fkey;  -- later transaction',
  check(statement, context) {
    const hits = constraintsOnExistingTables(statement, context).flatMap((added): RuleHit[] => {
      const { table, constraint } = added;
      if (constraint.contype !== 'CONSTR_FOREIGN' || constraint.skip_validation || !isEnforced(constraint)) return [];
      const t = displayTable(table);
      const referenced = displayTable(tableNameOf(constraint.pktable));
      const name = quoteIdentifier(constraintName(added, 'fkey'));
      const columns = (added.column ? [added.column] : stringsOf(constraint.fk_attrs)).map(quoteIdentifier).join(', ');
      const keys = stringsOf(constraint.pk_attrs).map(quoteIdentifier).join(', ');
      const add =
        withNotValid(statement, added) ??
        `ALTER TABLE ${t} ADD CONSTRAINT ${name} FOREIGN KEY (${columns}) REFERENCES ${referenced}${keys ? ` (${keys})` : ''} NOT VALID;`;
      return [
        {
          message: `Adding foreign key ${name} checks every row of ${t} while holding SHARE ROW EXCLUSIVE locks on ${t} and ${referenced}: writes to both wait for the whole scan.`,
          safeAlternative: [
            ...(added.column ? [`-- add the column first, without REFERENCES; then:`] : []),
            add,
            LATER_TRANSACTION,
            `ALTER TABLE ${t} VALIDATE CONSTRAINT ${name};`,
          ].join('\n'),
        },
      ];
    });
    return [...hits, ...validatedInSameTransaction(statement, context, 'foreign key')];
  },
};

export const addCheckNotValid: StatementRule = {
  id: 'add-check-not-valid',
  severity: 'error',
  summary: 'ADD CHECK constraint without NOT VALID (or validated in the same transaction)',
  why: 'Adding a CHECK constraint scans every row while holding an ACCESS EXCLUSIVE lock: no reads or writes of the table until the scan ends.',
  lock: 'ACCESS EXCLUSIVE on the table for the whole validating scan (VALIDATE CONSTRAINT later: SHARE UPDATE EXCLUSIVE).',
  safePattern:
    'Add it NOT VALID, then VALIDATE CONSTRAINT in a later transaction (SHARE UPDATE EXCLUSIVE: reads and writes go on):\n  ALTER TABLE t ADD CONSTRAINT t_c_positive CHECK (c > 0) NOT VALID;\n  ALTER TABLE t VALIDATE CONSTRAINT t_c_positive;  -- later transaction',
  check(statement, context) {
    const hits = constraintsOnExistingTables(statement, context).flatMap((added): RuleHit[] => {
      const { table, constraint } = added;
      if (constraint.contype !== 'CONSTR_CHECK' || constraint.skip_validation || !isEnforced(constraint)) return [];
      const t = displayTable(table);
      const name = quoteIdentifier(constraintName(added, 'check'));
      const add =
        withNotValid(statement, added) ?? `ALTER TABLE ${t} ADD CONSTRAINT ${name} CHECK (<the condition>) NOT VALID;`;
      return [
        {
          message: `Adding check constraint ${name} scans every row of ${t} while holding an ACCESS EXCLUSIVE lock: no reads or writes of ${t} until the scan ends.`,
          safeAlternative: [
            ...(added.column ? [`-- add the column first, without the CHECK; then:`] : []),
            add,
            LATER_TRANSACTION,
            `ALTER TABLE ${t} VALIDATE CONSTRAINT ${name};`,
          ].join('\n'),
        },
      ];
    });
    return [...hits, ...validatedInSameTransaction(statement, context, 'check')];
  },
};

function notNullSteps(table: TableName | undefined, column: string): string {
  const t = displayTable(table);
  const c = quoteIdentifier(column);
  const check = quoteIdentifier(`${table?.name ?? 't'}_${column}_not_null`);
  return [
    `ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${c} IS NOT NULL) NOT VALID;`,
    LATER_TRANSACTION,
    `ALTER TABLE ${t} VALIDATE CONSTRAINT ${check};`,
    `ALTER TABLE ${t} ALTER COLUMN ${c} SET NOT NULL;  -- PostgreSQL 12+ sees the valid check and skips the scan`,
    `ALTER TABLE ${t} DROP CONSTRAINT ${check};`,
  ].join('\n');
}

export const setNotNull: StatementRule = {
  id: 'set-not-null',
  severity: 'error',
  summary: 'SET NOT NULL without a validated CHECK (column IS NOT NULL) first',
  why: 'SET NOT NULL scans every row for NULLs while holding an ACCESS EXCLUSIVE lock. Since PostgreSQL 12 it skips the scan when a valid CHECK (column IS NOT NULL) constraint already proves it; the linter accepts SET NOT NULL after such a check is added and validated earlier in the same file (if the check comes from an earlier migration, disable the rule for the statement with that reason).',
  lock: 'ACCESS EXCLUSIVE on the table for the whole scan for NULLs (no scan after a validated CHECK, PostgreSQL 12+).',
  safePattern:
    'ADD CONSTRAINT ... CHECK (c IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT in a later transaction; then SET NOT NULL (no scan) and drop the check.',
  check(statement, context) {
    const hits = alterTableCommands(statement).flatMap(({ table, command }): RuleHit[] => {
      if (context.isNewTable(table)) return [];
      let column: string | undefined;
      if (command.subtype === 'AT_SetNotNull') column = command.name;
      const constraint =
        command.subtype === 'AT_AddConstraint' && command.def && 'Constraint' in command.def
          ? command.def.Constraint
          : undefined;
      // PostgreSQL 18: ADD CONSTRAINT n NOT NULL c is SET NOT NULL with a name.
      if (constraint?.contype === 'CONSTR_NOTNULL' && !constraint.skip_validation)
        column = stringsOf(constraint.keys)[0];
      if (!column || context.hasValidatedNotNullCheck(table, column)) return [];
      const t = displayTable(table);
      return [
        {
          message: `Making ${t}.${quoteIdentifier(column)} NOT NULL scans every row of ${t} for NULLs while holding an ACCESS EXCLUSIVE lock: no reads or writes of ${t} until it ends.`,
          safeAlternative: notNullSteps(table, column),
        },
      ];
    });
    return [...hits, ...validatedInSameTransaction(statement, context, 'not null')];
  },
};

/** EXCLUDE: the same index build under ACCESS EXCLUSIVE as UNIQUE, with no concurrent way around it. */
function exclusionHit(added: AddedConstraint): RuleHit {
  const t = displayTable(added.table);
  const name = quoteIdentifier(constraintName(added, 'excl'));
  return {
    message: `Adding EXCLUDE constraint ${name} builds its index on ${t} while holding an ACCESS EXCLUSIVE lock: no reads or writes of ${t} for the whole build, and PostgreSQL can neither build an exclusion constraint's index concurrently nor attach one built before.`,
    safeAlternative: [
      `-- there is no online way to add an exclusion constraint to a table in use:`,
      `-- a small table: keep a statement_timeout and disable the rule for this statement, giving its size as the reason`,
      `-- a large one: create a new table with the constraint, write to both, backfill, and move reads to it (expand/contract)`,
    ].join('\n'),
  };
}

export const addUniqueConstraint: StatementRule = {
  id: 'add-unique-constraint',
  severity: 'error',
  summary: 'ADD UNIQUE / PRIMARY KEY without USING INDEX of an index built concurrently; ADD EXCLUDE',
  why: 'ADD CONSTRAINT ... UNIQUE (or PRIMARY KEY, or EXCLUDE) builds its index while holding an ACCESS EXCLUSIVE lock: no reads or writes of the table for the whole build. An exclusion constraint has no USING INDEX form and no concurrent build, so on a table in use it has no online path.',
  lock: 'ACCESS EXCLUSIVE on the table for the whole index build (USING INDEX: brief).',
  safePattern:
    'Build the unique index with CREATE UNIQUE INDEX CONCURRENTLY (a file of its own), then attach it, which is instant:\n  CREATE UNIQUE INDEX CONCURRENTLY t_c_key ON t (c);\n  ALTER TABLE t ADD CONSTRAINT t_c_key UNIQUE USING INDEX t_c_key;',
  check(statement, context) {
    return constraintsOnExistingTables(statement, context).flatMap((added): RuleHit[] => {
      const { table, constraint } = added;
      if (constraint.contype === 'CONSTR_EXCLUSION') return [exclusionHit(added)];
      if ((constraint.contype !== 'CONSTR_UNIQUE' && constraint.contype !== 'CONSTR_PRIMARY') || constraint.indexname)
        return [];
      const primary = constraint.contype === 'CONSTR_PRIMARY';
      const t = displayTable(table);
      const name = quoteIdentifier(
        constraint.conname ?? (primary ? `${table?.name ?? 't'}_pkey` : constraintName(added, 'key')),
      );
      const columns = (added.column ? [added.column] : stringsOf(constraint.keys)).map(quoteIdentifier).join(', ');
      const kind = primary ? 'PRIMARY KEY' : 'UNIQUE';
      return [
        {
          message: `Adding ${kind} ${name} builds a unique index on ${t} while holding an ACCESS EXCLUSIVE lock: no reads or writes of ${t} for the whole build.`,
          safeAlternative: [
            ...(added.column ? [`-- add the column first, without ${kind}; then:`] : []),
            `-- in a file of its own (CONCURRENTLY cannot run in a transaction):`,
            `CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${t} (${columns});`,
            `-- then, instantly:`,
            ...(primary
              ? [`-- (every key column must already be NOT NULL, or PRIMARY KEY scans the table to set it)`]
              : []),
            `ALTER TABLE ${t} ADD CONSTRAINT ${name} ${kind} USING INDEX ${name};`,
          ].join('\n'),
        },
      ];
    });
  },
};
