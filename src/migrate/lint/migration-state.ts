import type { Constraint, Node } from 'libpg-query';
import type { DatabaseCatalog } from './database-catalog.js';
import type { MigrationPhase } from './migration-phase.js';
import type { MigrationStatement } from './parsed-migration.js';
import { addedConstraint, alterTableCommands } from './statement-parts.js';
import { sameTable, stringsOf, tableNameOf, type TableName } from './sql-names.js';
import { transactionControl } from './transaction-mode.js';
import type { FunctionVolatility } from './volatile-functions.js';

/**
 * What the statements before this one have done, as the rules need to know
 * it. A table created earlier in the same file is new and empty and no
 * running release uses it, so the rules leave it alone; a lock_timeout set
 * earlier covers what follows; a check validated earlier makes SET NOT NULL
 * cheap.
 */
export interface StatementContext {
  readonly phase: MigrationPhase;
  /** The runner wraps the whole file in one transaction (see transaction-mode.ts). */
  readonly fileInTransaction: boolean;
  /** Between a BEGIN and its COMMIT in the file. */
  readonly inExplicitTransaction: boolean;
  /** A BEGIN of the file was open before this statement (so a BEGIN now is nested, a COMMIT now closes it). */
  readonly transactionOpenBefore: boolean;
  /** Statements with the same id commit together. */
  readonly transactionId: number;
  readonly lockTimeoutSet: boolean;
  readonly statementTimeoutSet: boolean;
  /** The volatility a CREATE FUNCTION earlier in the file declares for a function of that (unqualified) name. */
  declaredVolatility(name: string): FunctionVolatility | undefined;
  /** pg_proc's volatility of a function of that name in the live database, when the lint reads one. */
  databaseVolatility(name: string): FunctionVolatility | undefined;
  isNewTable(table: TableName | undefined): boolean;
  /** A CHECK (column IS NOT NULL) on the table is validated (added without NOT VALID, or VALIDATE CONSTRAINT run). */
  hasValidatedNotNullCheck(table: TableName | undefined, column: string): boolean;
  /** A constraint added NOT VALID earlier in the file and not validated yet. */
  pendingConstraint(table: TableName | undefined, name: string): PendingConstraint | undefined;
  /** An index created earlier in the file. */
  createdIndex(name: string): { concurrent: boolean; table: TableName | undefined } | undefined;
  /** The statements after this one that commit together with it (for patterns that are safe only as a pair). */
  laterInSameTransaction(): readonly MigrationStatement[];
  /** Every statement after this one in the file. */
  laterStatements(): readonly MigrationStatement[];
}

/** What holds before the file's first statement, when the linter knows how the file will run. */
export interface StateBeforeFile {
  /** The lock_timeout cutover's runner sets before it runs the file (database.lock_timeout); 0 or absent: none. */
  runnerLockTimeoutMs?: number;
  /** The statement_timeout the runner sets (database.statement_timeout); 0 or absent: none. */
  runnerStatementTimeoutMs?: number;
  /**
   * Tables created by the migrations that run just before this one in the same run (the pending
   * migrations of one phase of a deploy): new and empty, as if created earlier in this file.
   */
  newTables?: readonly TableName[];
  /** The live database's catalog (`migrate lint --database`, or a deploy): what earlier migrations did there. */
  catalog?: DatabaseCatalog;
}

export interface PendingConstraint {
  kind: 'check' | 'foreign key' | 'not null';
  transactionId: number;
  /** For a CHECK (column IS NOT NULL), one AND-ing such tests, and a NOT NULL constraint: the columns it proves. */
  columns?: string[];
}

/** A timeout SET for the session, or SET LOCAL for one transaction (by id). */
interface TimeoutSetting {
  session: boolean;
  transaction: number | undefined;
}

interface TableColumn {
  table: TableName | undefined;
  column: string;
  /** The constraint that proves it, when named: dropping it takes the proof away. */
  constraint?: string;
}

export class MigrationState implements StatementContext {
  readonly phase: MigrationPhase;
  readonly fileInTransaction: boolean;
  inExplicitTransaction = false;
  transactionOpenBefore = false;
  transactionId = 0;
  private readonly lockTimeout: TimeoutSetting;
  private readonly statementTimeout: TimeoutSetting;
  private readonly functions = new Map<string, FunctionVolatility>();
  private readonly newTables: TableName[] = [];
  private readonly validatedNotNull: TableColumn[] = [];
  private readonly pending: Array<{ table: TableName | undefined; name: string; constraint: PendingConstraint }> = [];
  private readonly indexes = new Map<string, { concurrent: boolean; table: TableName | undefined }>();
  private readonly statements: readonly MigrationStatement[];
  private readonly catalog: DatabaseCatalog | undefined;
  private current = -1;

  constructor(
    phase: MigrationPhase,
    fileInTransaction: boolean,
    statements: readonly MigrationStatement[],
    before: StateBeforeFile = {},
  ) {
    this.phase = phase;
    this.fileInTransaction = fileInTransaction;
    this.statements = statements;
    // The runner's SETs come before the file's first statement; the file may still turn them off (SET ... = 0, RESET).
    this.lockTimeout = { session: (before.runnerLockTimeoutMs ?? 0) > 0, transaction: undefined };
    this.statementTimeout = { session: (before.runnerStatementTimeoutMs ?? 0) > 0, transaction: undefined };
    this.newTables.push(...(before.newTables ?? []));
    this.catalog = before.catalog;
  }

  /** The tables created in this file (or before it, see StateBeforeFile) that still exist under their names. */
  get createdTables(): readonly TableName[] {
    return this.newTables;
  }

  laterInSameTransaction(): readonly MigrationStatement[] {
    const later = this.statements.slice(this.current + 1);
    if (this.fileInTransaction) return later;
    if (!this.inExplicitTransaction) return [];
    const end = later.findIndex((statement) => transactionControl(statement) === 'end');
    return end < 0 ? later : later.slice(0, end);
  }

  laterStatements(): readonly MigrationStatement[] {
    return this.statements.slice(this.current + 1);
  }

  get lockTimeoutSet(): boolean {
    return this.lockTimeout.session || this.lockTimeout.transaction === this.transactionId;
  }

  get statementTimeoutSet(): boolean {
    return this.statementTimeout.session || this.statementTimeout.transaction === this.transactionId;
  }

  declaredVolatility(name: string): FunctionVolatility | undefined {
    return this.functions.get(name);
  }

  databaseVolatility(name: string): FunctionVolatility | undefined {
    return this.catalog?.functionVolatility(name);
  }

  isNewTable(table: TableName | undefined): boolean {
    return table !== undefined && this.newTables.some((created) => sameTable(created, table));
  }

  hasValidatedNotNullCheck(table: TableName | undefined, column: string): boolean {
    if (this.validatedNotNull.some((known) => known.column === column && sameTableOrUnknown(known.table, table)))
      return true;
    // A CHECK an earlier migration validated (or a column already NOT NULL): only the live database knows.
    return table !== undefined && !this.isNewTable(table) && Boolean(this.catalog?.provesNotNull(table, column));
  }

  pendingConstraint(table: TableName | undefined, name: string): PendingConstraint | undefined {
    return this.pending.find((known) => known.name === name && sameTableOrUnknown(known.table, table))?.constraint;
  }

  createdIndex(name: string): { concurrent: boolean; table: TableName | undefined } | undefined {
    return this.indexes.get(name);
  }

  /** Called before the rules see a statement: a BEGIN starts the transaction it belongs to. */
  enter(statement: MigrationStatement): void {
    this.current = statement.index;
    this.transactionOpenBefore = this.inExplicitTransaction;
    if (this.fileInTransaction) return;
    if (transactionControl(statement) === 'begin') {
      // A BEGIN inside a block is ignored by PostgreSQL (with a warning): still the same transaction.
      if (!this.inExplicitTransaction) this.transactionId++;
      this.inExplicitTransaction = true;
    } else if (!this.inExplicitTransaction) {
      // Outside a block every statement commits on its own.
      this.transactionId++;
    }
  }

  /** Called after the rules saw a statement: remember what it did. */
  record(statement: MigrationStatement): void {
    const node = statement.node;
    if ('CreateStmt' in node) this.addNewTable(tableNameOf(node.CreateStmt.relation));
    if ('CreateTableAsStmt' in node) this.addNewTable(tableNameOf(node.CreateTableAsStmt.into?.rel));
    if ('RenameStmt' in node && node.RenameStmt.renameType === 'OBJECT_TABLE' && node.RenameStmt.newname) {
      const renamed = tableNameOf(node.RenameStmt.relation);
      if (this.isNewTable(renamed)) this.addNewTable({ ...renamed, name: node.RenameStmt.newname });
    }
    if ('IndexStmt' in node && node.IndexStmt.idxname) {
      this.indexes.set(node.IndexStmt.idxname, {
        concurrent: Boolean(node.IndexStmt.concurrent),
        table: tableNameOf(node.IndexStmt.relation),
      });
    }
    if ('VariableSetStmt' in node) this.recordSetting(node.VariableSetStmt);
    for (const setting of setConfigCalls(node)) this.recordSetting(setting);
    if ('CreateFunctionStmt' in node) this.recordFunction(node.CreateFunctionStmt);
    for (const { table, command } of alterTableCommands(statement)) {
      const constraint = addedConstraint(command);
      if (constraint) this.recordConstraint(table, constraint);
      if (command.subtype === 'AT_ValidateConstraint' && command.name) this.recordValidation(table, command.name);
      if (command.subtype === 'AT_DropConstraint' && command.name) this.recordDroppedConstraint(table, command.name);
    }
    if (transactionControl(statement) === 'end') this.inExplicitTransaction = false;
  }

  private addNewTable(table: TableName | undefined): void {
    if (table) this.newTables.push(table);
  }

  private recordSetting(setting: { kind?: string; name?: string; args?: unknown[]; is_local?: boolean }): void {
    if (setting.kind === 'VAR_RESET_ALL') {
      for (const timeout of [this.lockTimeout, this.statementTimeout]) {
        timeout.session = false;
        timeout.transaction = undefined;
      }
      return;
    }
    const timeout =
      setting.name === 'lock_timeout'
        ? this.lockTimeout
        : setting.name === 'statement_timeout'
          ? this.statementTimeout
          : undefined;
    if (!timeout) return;
    // A timeout of 0 (or DEFAULT, or RESET) means "wait forever".
    const on = setting.kind === 'VAR_SET_VALUE' && !isZeroDuration(setting.args?.[0]);
    if (setting.is_local) timeout.transaction = on ? this.transactionId : undefined;
    else {
      timeout.session = on;
      if (!on) timeout.transaction = undefined;
    }
  }

  /** CREATE FUNCTION is VOLATILE unless it says IMMUTABLE or STABLE. */
  private recordFunction(create: { funcname?: Node[]; options?: Node[]; is_procedure?: boolean }): void {
    const name = stringsOf(create.funcname).pop();
    if (!name || create.is_procedure) return;
    let volatility: FunctionVolatility = 'volatile';
    for (const option of create.options ?? []) {
      if (!('DefElem' in option) || option.DefElem.defname !== 'volatility') continue;
      const value = option.DefElem.arg && 'String' in option.DefElem.arg ? option.DefElem.arg.String.sval : undefined;
      if (value === 'immutable' || value === 'stable') volatility = value;
    }
    this.functions.set(name, volatility);
  }

  private recordConstraint(table: TableName | undefined, constraint: Constraint): void {
    const notNullColumns = notNullCheckColumns(constraint);
    if (!constraint.skip_validation) {
      for (const column of notNullColumns) this.validatedNotNull.push(proof(table, column, constraint.conname));
      return;
    }
    if (!constraint.conname) return;
    const kind =
      constraint.contype === 'CONSTR_FOREIGN'
        ? 'foreign key'
        : constraint.contype === 'CONSTR_NOTNULL'
          ? 'not null'
          : 'check';
    this.pending.push({
      table,
      name: constraint.conname,
      constraint:
        notNullColumns.length > 0
          ? { kind, transactionId: this.transactionId, columns: notNullColumns }
          : { kind, transactionId: this.transactionId },
    });
  }

  private recordValidation(table: TableName | undefined, name: string): void {
    const index = this.pending.findIndex((known) => known.name === name && sameTableOrUnknown(known.table, table));
    const known = this.pending[index];
    if (!known) return;
    this.pending.splice(index, 1);
    for (const column of known.constraint.columns ?? []) this.validatedNotNull.push(proof(table, column, name));
  }

  /** A dropped check proves nothing any more: SET NOT NULL after it scans again. */
  private recordDroppedConstraint(table: TableName | undefined, name: string): void {
    for (let i = this.validatedNotNull.length - 1; i >= 0; i--) {
      const known = this.validatedNotNull[i]!;
      if (known.constraint === name && sameTableOrUnknown(known.table, table)) this.validatedNotNull.splice(i, 1);
    }
    const pending = this.pending.findIndex((known) => known.name === name && sameTableOrUnknown(known.table, table));
    if (pending >= 0) this.pending.splice(pending, 1);
  }
}

/**
 * The columns of `CHECK (column IS NOT NULL)` or of a PostgreSQL 18
 * `NOT NULL column` table constraint: the two ways to prove a column has no
 * NULLs without SET NOT NULL's scan under ACCESS EXCLUSIVE. A check that ANDs
 * such tests with anything proves each of its columns (PostgreSQL's
 * predicate_implied_by reads the conjunction the same way); OR, NOT and any
 * other expression prove nothing.
 */
export function notNullCheckColumns(constraint: Constraint): string[] {
  if (constraint.contype === 'CONSTR_NOTNULL') return stringsOf(constraint.keys).slice(0, 1);
  if (constraint.contype !== 'CONSTR_CHECK' || !constraint.raw_expr) return [];
  return notNullColumnsOf(constraint.raw_expr);
}

function notNullColumnsOf(expression: Node): string[] {
  if ('BoolExpr' in expression)
    return expression.BoolExpr.boolop === 'AND_EXPR'
      ? (expression.BoolExpr.args ?? []).flatMap((arg) => notNullColumnsOf(arg))
      : [];
  if (!('NullTest' in expression)) return [];
  const test = expression.NullTest;
  if (test.nulltesttype !== 'IS_NOT_NULL' || !test.arg || !('ColumnRef' in test.arg)) return [];
  const fields = stringsOf(test.arg.ColumnRef.fields);
  return fields.length === 1 ? [fields[0]!] : [];
}

/**
 * `SELECT set_config('lock_timeout', '5s', false)`: the function form of SET
 * (SET LOCAL when its third argument is true), which migration tools and
 * hand-written files use too. Only constant arguments are read; a computed
 * name or value is not a setting the linter can know.
 */
function setConfigCalls(node: Node): Array<{ kind: string; name: string; args: unknown[]; is_local: boolean }> {
  if (!('SelectStmt' in node) || node.SelectStmt.fromClause?.length) return [];
  const calls = [];
  for (const target of node.SelectStmt.targetList ?? []) {
    const value = 'ResTarget' in target ? target.ResTarget.val : undefined;
    if (!value || !('FuncCall' in value)) continue;
    const names = stringsOf(value.FuncCall.funcname);
    if (names.at(-1) !== 'set_config' || (names.length === 2 && names[0] !== 'pg_catalog') || names.length > 2)
      continue;
    const [name, setting, local] = value.FuncCall.args ?? [];
    const constant = (arg: Node | undefined) => (arg && 'A_Const' in arg ? arg.A_Const : undefined);
    const settingName = constant(name)?.sval?.sval;
    const isLocal = constant(local)?.boolval;
    if (settingName === undefined || constant(setting)?.sval === undefined || isLocal === undefined) continue;
    calls.push({ kind: 'VAR_SET_VALUE', name: settingName, args: [setting], is_local: Boolean(isLocal.boolval) });
  }
  return calls;
}

function proof(table: TableName | undefined, column: string, constraint: string | undefined): TableColumn {
  return constraint === undefined ? { table, column } : { table, column, constraint };
}

function sameTableOrUnknown(a: TableName | undefined, b: TableName | undefined): boolean {
  return a === undefined || b === undefined || sameTable(a, b);
}

/** `0`, `'0'`, `'0s'`, `'0ms'`: PostgreSQL reads each as "no timeout". */
function isZeroDuration(argument: unknown): boolean {
  if (typeof argument !== 'object' || argument === null || !('A_Const' in argument)) return false;
  const constant = (argument as { A_Const: { ival?: { ival?: number }; sval?: { sval?: string } } }).A_Const;
  if (constant.ival) return !constant.ival.ival;
  const text = constant.sval?.sval?.trim() ?? '';
  const number = Number.parseFloat(text);
  return Number.isFinite(number) && number === 0;
}
