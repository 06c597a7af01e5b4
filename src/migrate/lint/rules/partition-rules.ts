import { alterTableCommands } from '../statement-parts.js';
import { displayTable, tableNameOf } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

export const detachPartitionNotConcurrently: StatementRule = {
  id: 'detach-partition-not-concurrently',
  severity: 'error',
  summary: 'ALTER TABLE ... DETACH PARTITION without CONCURRENTLY',
  why: 'A plain DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned table and on the partition: every query on any partition waits for it, and while it waits behind a long query, every query queues behind it.',
  lock: 'ACCESS EXCLUSIVE on the partitioned table and the partition (CONCURRENTLY, PostgreSQL 14+: SHARE UPDATE EXCLUSIVE on the partitioned table).',
  safePattern:
    'DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a migration file of its own (it cannot run in a transaction); if it is interrupted, finish it with DETACH PARTITION ... FINALIZE.',
  check(statement, context) {
    return alterTableCommands(statement).flatMap(({ table, command }) => {
      if (command.subtype !== 'AT_DetachPartition' || context.isNewTable(table)) return [];
      const partition = command.def && 'PartitionCmd' in command.def ? command.def.PartitionCmd : undefined;
      if (!partition || partition.concurrent) return [];
      const t = displayTable(table);
      const p = displayTable(tableNameOf(partition.name));
      return [
        {
          message: `Detaching ${p} from ${t} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on ${t} and ${p}: no reads or writes of any partition of ${t} until it commits.`,
          safeAlternative: [
            `-- in a file of its own: PostgreSQL refuses DETACH ... CONCURRENTLY inside a transaction (PostgreSQL 14+)`,
            `ALTER TABLE ${t} DETACH PARTITION ${p} CONCURRENTLY;`,
            `-- if it is interrupted: ALTER TABLE ${t} DETACH PARTITION ${p} FINALIZE;`,
          ].join('\n'),
        },
      ];
    });
  },
};
