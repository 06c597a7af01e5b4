import { concurrentCommand } from '../transaction-mode.js';
import { reindexIsConcurrent } from '../lock-levels.js';
import { displayTable, quoteIdentifier, stringsOf, tableNameOf } from '../sql-names.js';
import { withInsertionAfter } from '../sql-text.js';
import type { StatementRule } from './lint-rule.js';

const OWN_FILE_NOTE =
  '-- in a file of its own: PostgreSQL refuses CONCURRENTLY inside a transaction, so cutover runs such a file statement by statement';

export const createIndexNotConcurrently: StatementRule = {
  id: 'create-index-not-concurrently',
  severity: 'error',
  summary: 'CREATE INDEX without CONCURRENTLY on an existing table',
  why: 'CREATE INDEX holds a SHARE lock on the table for the whole build: reads go on, but every INSERT, UPDATE and DELETE waits until the index is built, minutes on a large table. An index on a table created in the same file is fine.',
  lock: 'SHARE on the table for the whole build (CONCURRENTLY: SHARE UPDATE EXCLUSIVE, writes go on).',
  safePattern:
    'CREATE INDEX CONCURRENTLY in a migration file of its own (it cannot run in a transaction); if it fails it leaves an INVALID index to drop with DROP INDEX CONCURRENTLY before retrying.',
  check(statement, context) {
    const node = statement.node;
    if (!('IndexStmt' in node) || node.IndexStmt.concurrent) return [];
    const table = tableNameOf(node.IndexStmt.relation);
    if (context.isNewTable(table)) return [];
    const t = displayTable(table);
    const rewritten =
      withInsertionAfter(statement, 'INDEX', ' CONCURRENTLY') ?? `CREATE INDEX CONCURRENTLY ... ON ${t} (...)`;
    return [
      {
        message: `Building an index on ${t} without CONCURRENTLY holds a SHARE lock on ${t} for the whole build: every write to ${t} waits until the index is built.`,
        safeAlternative: [
          OWN_FILE_NOTE,
          `${rewritten};`,
          `-- if it fails, it leaves an INVALID index: drop it with DROP INDEX CONCURRENTLY and run the migration again`,
        ].join('\n'),
      },
    ];
  },
};

export const dropIndexNotConcurrently: StatementRule = {
  id: 'drop-index-not-concurrently',
  severity: 'warning',
  summary: 'DROP INDEX without CONCURRENTLY',
  why: "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: quick once granted, but while it waits for running queries every new query on the table queues behind it.",
  lock: "ACCESS EXCLUSIVE on the index's table (CONCURRENTLY: SHARE UPDATE EXCLUSIVE).",
  safePattern: 'DROP INDEX CONCURRENTLY, one index per statement, in a migration file of its own.',
  check(statement, context) {
    const node = statement.node;
    if (!('DropStmt' in node) || node.DropStmt.removeType !== 'OBJECT_INDEX' || node.DropStmt.concurrent) return [];
    const names = (node.DropStmt.objects ?? [])
      .flatMap((object) => ('List' in object ? [stringsOf(object.List.items).join('.')] : []))
      .filter((name) => context.createdIndex(name) === undefined);
    if (names.length === 0) return [];
    const ifExists = node.DropStmt.missing_ok ? 'IF EXISTS ' : '';
    return [
      {
        message: `Dropping index ${names.join(', ')} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table: while it waits for running queries, every read and write of the table queues behind it.`,
        safeAlternative: [OWN_FILE_NOTE, ...names.map((name) => `DROP INDEX CONCURRENTLY ${ifExists}${name};`)].join(
          '\n',
        ),
      },
    ];
  },
};

export const concurrentlyInTransaction: StatementRule = {
  id: 'concurrently-in-transaction',
  severity: 'error',
  summary: 'CREATE/DROP/REINDEX ... CONCURRENTLY inside BEGIN ... COMMIT',
  why: 'PostgreSQL refuses the CONCURRENTLY forms inside a transaction block ("cannot run inside a transaction block"), so the migration fails at that statement. A file is run as one transaction unless it has a `-- cutover:no-transaction` header or a statement that cannot run in one (then each statement runs on its own), so only an explicit BEGIN ... COMMIT in the file puts CONCURRENTLY inside a transaction.',
  lock: 'None: PostgreSQL refuses the statement and the migration fails.',
  safePattern: 'Move the statement out of the BEGIN ... COMMIT block, best into a migration file of its own.',
  check(statement, context) {
    const command = concurrentCommand(statement);
    if (!command || !(context.inExplicitTransaction || context.fileInTransaction)) return [];
    return [
      {
        message: `${command} cannot run inside a transaction block: PostgreSQL refuses it and the migration fails at this statement.`,
        safeAlternative: [OWN_FILE_NOTE, `-- and outside BEGIN ... COMMIT:`, `${statement.text};`].join('\n'),
      },
    ];
  },
};

const REINDEX_TARGETS: Record<string, string> = {
  REINDEX_OBJECT_INDEX: 'INDEX',
  REINDEX_OBJECT_TABLE: 'TABLE',
  REINDEX_OBJECT_SCHEMA: 'SCHEMA',
  REINDEX_OBJECT_DATABASE: 'DATABASE',
  REINDEX_OBJECT_SYSTEM: 'SYSTEM',
};

export const reindexNotConcurrently: StatementRule = {
  id: 'reindex-not-concurrently',
  severity: 'error',
  summary: 'REINDEX without CONCURRENTLY',
  why: 'REINDEX rebuilds each index from scratch while holding a SHARE lock on its table (every write waits) and an ACCESS EXCLUSIVE lock on the index; the planner opens every index of a table it plans a query for, so reads of the table wait too, for the whole rebuild.',
  lock: 'SHARE on the table and ACCESS EXCLUSIVE on each index, for the whole rebuild (CONCURRENTLY, PostgreSQL 12+: SHARE UPDATE EXCLUSIVE).',
  safePattern:
    'REINDEX ... CONCURRENTLY (PostgreSQL 12+) in a migration file of its own; a failed run leaves an invalid `_ccnew` index to drop before retrying.',
  check(statement, context) {
    const node = statement.node;
    if (!('ReindexStmt' in node) || reindexIsConcurrent(statement)) return [];
    const reindex = node.ReindexStmt;
    const relation = tableNameOf(reindex.relation);
    const target = REINDEX_TARGETS[reindex.kind ?? ''] ?? 'TABLE';
    if (target === 'TABLE' && context.isNewTable(relation)) return [];
    const indexName = relation ? (relation.schema ? `${relation.schema}.${relation.name}` : relation.name) : undefined;
    if (target === 'INDEX' && indexName !== undefined && context.createdIndex(indexName) !== undefined) return [];
    const what = relation ? displayTable(relation) : quoteIdentifier(reindex.name ?? '');
    const system = target === 'SYSTEM';
    return [
      {
        message: `REINDEX ${target} ${what} rebuilds ${target === 'INDEX' ? 'the index' : 'every index of it'} while holding SHARE on ${target === 'INDEX' ? 'its table' : 'each table'} (every write waits) and ACCESS EXCLUSIVE on each index (queries planned on the table wait too) until the rebuild ends.`,
        safeAlternative: system
          ? '-- system catalogues cannot be reindexed concurrently: take REINDEX SYSTEM out of the migration and run it in a maintenance window'
          : [OWN_FILE_NOTE, `REINDEX ${target} CONCURRENTLY ${what};  -- PostgreSQL 12+`].join('\n'),
      },
    ];
  },
};
