import { blocksWrites, lockEffect, locksTakenBy } from '../lock-levels.js';
import { displayTable } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

/**
 * The lock queue is the quiet outage: a statement that needs a strong lock
 * waits behind a long-running query, and every query that arrives after it
 * waits behind the statement, even plain SELECTs. lock_timeout bounds that.
 */
export const missingLockTimeout: StatementRule = {
  id: 'missing-lock-timeout',
  severity: 'warning',
  oncePerFile: true,
  summary: 'A statement that takes a lock blocking writes on an existing table, with no lock_timeout set before it',
  why: 'While the statement waits for its lock (behind any long-running query or open transaction on the table), every later query on the table queues behind it, reads included: the table is unavailable for as long as the longest query runs. lock_timeout makes the statement give up instead, and the migration can be retried.',
  lock: 'Any lock from SHARE up on an existing table: while it waits, every later query on the table queues behind it.',
  safePattern:
    "Start the file with SET lock_timeout = '5s'; (or SET LOCAL inside the transaction, or its function form SELECT set_config('lock_timeout', '5s', false)); cutover's runner retries on a lock timeout.",
  check(statement, context) {
    if (context.lockTimeoutSet) return [];
    const locks = locksTakenBy(statement).filter(
      (lock) =>
        blocksWrites(lock.mode) &&
        !context.isNewTable(lock.table) &&
        !(lock.index !== undefined && context.createdIndex(lock.index) !== undefined),
    );
    const first = locks[0];
    if (!first) return [];
    const target = first.table ? displayTable(first.table) : `the table of index ${first.index ?? ''}`;
    const others = locks
      .slice(1)
      .map((lock) => (lock.table ? displayTable(lock.table) : `the table of index ${lock.index ?? ''}`));
    return [
      {
        message: `This statement takes ${first.mode.startsWith('A') || first.mode.startsWith('E') ? 'an' : 'a'} ${first.mode} lock on ${target}${others.length ? ` (and locks ${others.join(', ')})` : ''}, which ${lockEffect(first.mode)} it, and no lock_timeout is set: while it waits behind a long-running query, every query on ${target} queues behind it. (Reported once per file: one SET at the top covers every statement.)`,
        safeAlternative: `-- at the top of the migration, before the first statement that locks:\nSET lock_timeout = '5s';`,
      },
    ];
  },
};
