import type { StatementContext } from '../migration-state.js';
import type { MigrationStatement } from '../parsed-migration.js';
import { isVacuumFull, reindexIsConcurrent } from '../lock-levels.js';
import { addedColumn, addedConstraint, alterTableCommands } from '../statement-parts.js';
import { displayTable, tableNameOf, type TableName } from '../sql-names.js';
import { volatileFill } from './column-rules.js';
import type { StatementRule } from './lint-rule.js';

/** ALTER TABLE sub-commands that rewrite the table whatever their arguments. */
const REWRITING_COMMANDS = new Set(['AT_SetLogged', 'AT_SetUnLogged', 'AT_SetTableSpace', 'AT_SetAccessMethod']);

interface LongRunning {
  table: TableName | undefined;
  work: string;
}

/**
 * The statements whose run time grows with the table while they hold a lock
 * that stops writes (or reads): a rewrite, an index build, a validating scan.
 * Statements that let traffic through (CONCURRENTLY, VALIDATE CONSTRAINT)
 * are left out on purpose: a statement_timeout would only make them fail
 * halfway, and an interrupted CREATE INDEX CONCURRENTLY leaves an invalid index.
 */
function longRunningWork(statement: MigrationStatement, context: StatementContext): LongRunning | undefined {
  const node = statement.node;
  if ('IndexStmt' in node && !node.IndexStmt.concurrent) {
    const table = tableNameOf(node.IndexStmt.relation);
    return context.isNewTable(table) ? undefined : { table, work: 'builds an index on' };
  }
  if ('ReindexStmt' in node && !reindexIsConcurrent(statement))
    return { table: tableNameOf(node.ReindexStmt.relation), work: 'rebuilds the indexes of' };
  if ('VacuumStmt' in node && isVacuumFull(statement)) return { table: undefined, work: 'copies' };
  if ('ClusterStmt' in node) return { table: tableNameOf(node.ClusterStmt.relation), work: 'rewrites' };
  if ('RefreshMatViewStmt' in node)
    return { table: tableNameOf(node.RefreshMatViewStmt.relation), work: 'reruns the query of' };
  for (const { table, command } of alterTableCommands(statement)) {
    if (context.isNewTable(table)) continue;
    if (command.subtype === 'AT_AlterColumnType') return { table, work: 'may rewrite' };
    if (command.subtype && REWRITING_COMMANDS.has(command.subtype)) return { table, work: 'rewrites' };
    if (command.subtype === 'AT_SetNotNull' && !context.hasValidatedNotNullCheck(table, command.name ?? ''))
      return { table, work: 'scans every row of' };
    const column = addedColumn(command);
    if (column && volatileFill(column, context)) return { table, work: 'rewrites' };
    const constraint = addedConstraint(command);
    if (constraint && !constraint.skip_validation && constraint.is_enforced !== false && !constraint.indexname) {
      if (['CONSTR_UNIQUE', 'CONSTR_PRIMARY', 'CONSTR_EXCLUSION'].includes(constraint.contype ?? ''))
        return { table, work: 'builds an index on' };
      if (constraint.contype === 'CONSTR_FOREIGN' || constraint.contype === 'CONSTR_CHECK')
        return { table, work: 'scans every row of' };
    }
  }
  return undefined;
}

/**
 * lock_timeout bounds the wait for a lock; statement_timeout bounds how long
 * the lock is then held. Without it a rewrite or a scan of a table bigger
 * than anyone expected keeps traffic waiting until it ends, however long.
 */
export const missingStatementTimeout: StatementRule = {
  id: 'missing-statement-timeout',
  severity: 'warning',
  oncePerFile: true,
  summary: 'A long-running statement that blocks traffic, with no statement_timeout set before it',
  why: "A rewrite, an index build or a validating scan holds its lock for as long as it runs, and on a table larger than the author expected that is minutes or hours of blocked writes (or reads). statement_timeout ends it instead, the transaction rolls back and the locks are released. It is reported even when the statement's own rule is disabled: the disable records a belief (a small table, no rewrite), the timeout is what holds when the belief is wrong. cutover's runner sets database.statement_timeout before each file; a file run any other way needs its own.",
  lock: 'Whatever the statement takes (SHARE or stronger), held for its whole run.',
  safePattern:
    "Start the file with SET statement_timeout = '15min'; (or SET LOCAL inside the transaction), sized for the table; better still, use the rule's non-blocking rewrite.",
  check(statement, context) {
    if (context.statementTimeoutSet) return [];
    const long = longRunningWork(statement, context);
    if (!long || (long.table && context.isNewTable(long.table))) return [];
    const target = long.table ? displayTable(long.table) : 'every table';
    return [
      {
        message: `This statement ${long.work} ${target} while holding a lock that blocks traffic, and no statement_timeout is set: it holds that lock for as long as it runs, however long that is. (Reported once per file: one SET at the top covers every statement.)`,
        safeAlternative: `-- at the top of the migration, sized for the largest table it touches:\nSET statement_timeout = '15min';`,
      },
    ];
  },
};
