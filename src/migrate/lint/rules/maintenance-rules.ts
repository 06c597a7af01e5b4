import type { Node } from 'libpg-query';
import { isVacuumFull, lockEffect, lockModeOfNumber, LOCK_MODES } from '../lock-levels.js';
import { displayTable, tableNameOf } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

function vacuumTables(relations: Node[] | undefined): string | undefined {
  const names = (relations ?? []).flatMap((relation) =>
    'VacuumRelation' in relation ? [displayTable(tableNameOf(relation.VacuumRelation.relation))] : [],
  );
  return names.length ? names.join(', ') : undefined;
}

export const vacuumFull: StatementRule = {
  id: 'vacuum-full',
  severity: 'error',
  summary: 'VACUUM FULL',
  why: 'VACUUM FULL copies the whole table into a new file while holding an ACCESS EXCLUSIVE lock: no reads or writes until the copy ends, and it needs room for a second copy of the table.',
  lock: 'ACCESS EXCLUSIVE on each table for the whole copy.',
  safePattern:
    'Plain VACUUM (or autovacuum) reclaims space for reuse without blocking; to shrink a bloated table online use pg_repack or pg_squeeze outside the migration.',
  check(statement) {
    const node = statement.node;
    if (!('VacuumStmt' in node) || !isVacuumFull(statement)) return [];
    const tables = vacuumTables(node.VacuumStmt.rels);
    return [
      {
        message: `VACUUM FULL rewrites ${tables ?? 'every table of the database'} while holding an ACCESS EXCLUSIVE lock: no reads or writes until the rewrite ends.`,
        safeAlternative: [
          `-- reclaim space for reuse without blocking (outside the migration; VACUUM cannot run in a transaction):`,
          tables ? `VACUUM (ANALYZE) ${tables};` : 'VACUUM (ANALYZE);',
          `-- to give space back to the operating system online, use the pg_repack extension outside the migration`,
        ].join('\n'),
      },
    ];
  },
};

export const cluster: StatementRule = {
  id: 'cluster',
  severity: 'error',
  summary: 'CLUSTER',
  why: 'CLUSTER rewrites the table in index order while holding an ACCESS EXCLUSIVE lock: no reads or writes until it ends.',
  lock: 'ACCESS EXCLUSIVE on the table for the whole rewrite.',
  safePattern:
    'Leave physical ordering out of migrations: an index built with CREATE INDEX CONCURRENTLY serves the ordered reads CLUSTER was meant to speed up, and pg_repack --order-by reorders a table online.',
  check(statement) {
    const node = statement.node;
    if (!('ClusterStmt' in node)) return [];
    const table = tableNameOf(node.ClusterStmt.relation);
    const t = table ? displayTable(table) : 'every previously clustered table';
    return [
      {
        message: `CLUSTER rewrites ${t} while holding an ACCESS EXCLUSIVE lock: no reads or writes until it ends.`,
        safeAlternative: [
          `-- serve ordered reads with an index instead (in a file of its own):`,
          `CREATE INDEX CONCURRENTLY ... ON ${t} (<the columns reads are ordered by>);`,
          `-- or reorder online, outside the migration, with the pg_repack extension: pg_repack --table ${t}${node.ClusterStmt.indexname ? ` --order-by <the columns of ${node.ClusterStmt.indexname}>` : ''}`,
        ].join('\n'),
      },
    ];
  },
};

export const lockTable: StatementRule = {
  id: 'lock-table',
  severity: 'error',
  summary: 'LOCK TABLE',
  why: 'An explicit table lock is held until the transaction ends, so everything after it in the migration runs while the table is blocked; ACCESS EXCLUSIVE (the default mode) blocks even reads.',
  lock: 'The mode named (ACCESS EXCLUSIVE by default), held until the transaction ends.',
  safePattern:
    'Let each statement take the lock it needs, keep transactions short, and set lock_timeout so a blocked statement gives up instead of queueing traffic behind it.',
  check(statement) {
    const node = statement.node;
    if (!('LockStmt' in node)) return [];
    const mode = lockModeOfNumber(node.LockStmt.mode);
    const tables = (node.LockStmt.relations ?? [])
      .flatMap((relation) => ('RangeVar' in relation ? [displayTable(tableNameOf(relation.RangeVar))] : []))
      .join(', ');
    return [
      {
        message: `LOCK TABLE ${tables} IN ${mode} MODE ${lockEffect(mode)} ${tables} until the migration's transaction ends${LOCK_MODES.indexOf(mode) < LOCK_MODES.indexOf('SHARE') ? '' : ', and everything after it runs while traffic waits'}.`,
        safeAlternative: [
          `-- drop the LOCK TABLE; each statement takes the lock it needs. Bound the wait instead:`,
          `SET lock_timeout = '5s';`,
        ].join('\n'),
      },
    ];
  },
};
