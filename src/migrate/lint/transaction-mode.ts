import type { MigrationStatement } from './parsed-migration.js';
import { alterTableCommands } from './statement-parts.js';

/**
 * Whether the runner wraps a migration file in one transaction. The choice
 * lives here so the linter and the runner agree on it:
 *
 * - by default a file runs as one transaction: all of it applies or none;
 * - a `-- cutover:no-transaction` header runs each statement on its own;
 * - so does a file with a statement PostgreSQL refuses inside a transaction
 *   block (CREATE/DROP/REINDEX ... CONCURRENTLY, DETACH PARTITION
 *   CONCURRENTLY, VACUUM): wrapping it could only fail;
 * - so does a file that opens its own transactions with BEGIN ... COMMIT:
 *   a BEGIN inside the runner's transaction would be ignored and its COMMIT
 *   would end the runner's.
 *
 * A CONCURRENTLY statement therefore only runs inside a transaction when the
 * file itself puts it between BEGIN and COMMIT, which is what
 * `concurrently-in-transaction` reports.
 */
export type TransactionMode =
  | { wrapped: true }
  | {
      wrapped: false;
      reason: 'header' | 'statement-outside-transaction' | 'explicit-transactions';
      statement?: MigrationStatement;
    };

export function transactionModeOf(
  statements: readonly MigrationStatement[],
  noTransactionHeader: boolean,
): TransactionMode {
  if (noTransactionHeader) return { wrapped: false, reason: 'header' };
  const refused = statements.find((statement) => refusedInTransactionBlock(statement) !== undefined);
  if (refused) return { wrapped: false, reason: 'statement-outside-transaction', statement: refused };
  const control = statements.find((statement) => transactionControl(statement) !== undefined);
  if (control) return { wrapped: false, reason: 'explicit-transactions', statement: control };
  return { wrapped: true };
}

/** The name of the command when PostgreSQL refuses to run the statement inside a transaction block. */
export function refusedInTransactionBlock(statement: MigrationStatement): string | undefined {
  return (
    concurrentCommand(statement) ??
    ('VacuumStmt' in statement.node && statement.node.VacuumStmt.is_vacuumcmd ? 'VACUUM' : undefined)
  );
}

/** The command's name when the statement is one of the CONCURRENTLY forms that cannot run in a transaction block. */
export function concurrentCommand(statement: MigrationStatement): string | undefined {
  const node = statement.node;
  if ('IndexStmt' in node && node.IndexStmt.concurrent) return 'CREATE INDEX CONCURRENTLY';
  if ('DropStmt' in node && node.DropStmt.concurrent) return 'DROP INDEX CONCURRENTLY';
  if ('ReindexStmt' in node) {
    const concurrently = (node.ReindexStmt.params ?? []).some(
      (param) => 'DefElem' in param && param.DefElem.defname === 'concurrently',
    );
    if (concurrently) return 'REINDEX CONCURRENTLY';
  }
  for (const { command } of alterTableCommands(statement)) {
    if (
      command.subtype === 'AT_DetachPartition' &&
      command.def &&
      'PartitionCmd' in command.def &&
      command.def.PartitionCmd.concurrent
    ) {
      return 'DETACH PARTITION CONCURRENTLY';
    }
  }
  return undefined;
}

export type TransactionControl = 'begin' | 'end';

/** BEGIN / START TRANSACTION open a block; COMMIT, END, ROLLBACK (not TO SAVEPOINT) close it. */
export function transactionControl(statement: MigrationStatement): TransactionControl | undefined {
  if (!('TransactionStmt' in statement.node)) return undefined;
  switch (statement.node.TransactionStmt.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      return 'begin';
    case 'TRANS_STMT_COMMIT':
    case 'TRANS_STMT_ROLLBACK':
    case 'TRANS_STMT_COMMIT_PREPARED':
    case 'TRANS_STMT_ROLLBACK_PREPARED':
    case 'TRANS_STMT_PREPARE':
      return 'end';
    default:
      return undefined;
  }
}
