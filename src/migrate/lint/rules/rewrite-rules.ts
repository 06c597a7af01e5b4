import { alterTableCommands } from '../statement-parts.js';
import { displayTable, quoteIdentifier, tableNameOf } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

/** ALTER TABLE sub-commands that copy the whole table into new files, whatever their arguments. */
const REWRITES: Record<string, (argument: string | undefined) => string> = {
  AT_SetTableSpace: (space) => `SET TABLESPACE ${quoteIdentifier(space ?? 'tablespace')}`,
  AT_SetLogged: () => 'SET LOGGED',
  AT_SetUnLogged: () => 'SET UNLOGGED',
  AT_SetAccessMethod: (method) => `SET ACCESS METHOD ${quoteIdentifier(method ?? 'method')}`,
};

export const rewriteTable: StatementRule = {
  id: 'rewrite-table',
  severity: 'error',
  summary: 'ALTER TABLE ... SET TABLESPACE, SET LOGGED, SET UNLOGGED or SET ACCESS METHOD',
  why: 'Each of these copies the whole table (and SET TABLESPACE its indexes too) into new files while holding an ACCESS EXCLUSIVE lock: no reads or writes until the copy ends, however large the table. SET LOGGED also writes the whole table to the WAL, which replicas must replay.',
  lock: 'ACCESS EXCLUSIVE on the table for the whole copy.',
  safePattern:
    'Leave storage changes out of deploy migrations: move a table to another tablespace online with pg_repack --tablespace, or build a new table, copy in batches with cutover db backfill, and switch over with a rename and a view. A table created in the same migration may be changed freely.',
  check(statement, context) {
    return alterTableCommands(statement).flatMap(({ table, command }) => {
      const clause = REWRITES[command.subtype ?? ''];
      if (clause === undefined || context.isNewTable(table)) return [];
      const t = displayTable(table);
      return [
        {
          message: `ALTER TABLE ${t} ${clause(command.name)} copies all of ${t} into new files while holding an ACCESS EXCLUSIVE lock: no reads or writes until the copy ends.`,
          safeAlternative:
            command.subtype === 'AT_SetTableSpace'
              ? `-- outside the migration, online (the pg_repack extension): pg_repack --table ${t} --tablespace ${quoteIdentifier(command.name ?? 'tablespace')} --moveidx`
              : [
                  `-- build the new table beside the old one, in this migration:`,
                  `CREATE ${command.subtype === 'AT_SetUnLogged' ? 'UNLOGGED ' : ''}TABLE ${t}_new (LIKE ${t} INCLUDING ALL);`,
                  `-- copy in batches while both releases run (cutover db backfill), then switch over with a rename and a view`,
                ].join('\n'),
        },
      ];
    });
  },
};

export const refreshMaterializedViewNotConcurrently: StatementRule = {
  id: 'refresh-materialized-view-not-concurrently',
  severity: 'error',
  summary: 'REFRESH MATERIALIZED VIEW without CONCURRENTLY, or WITH NO DATA',
  why: "A plain refresh reruns the view's query and swaps in the result while holding an ACCESS EXCLUSIVE lock on the view: every query of the running release on it waits until the query ends. CONCURRENTLY builds the new contents beside the old and lets reads go on. WITH NO DATA empties the view instead, and every query on it fails until the next refresh.",
  lock: 'ACCESS EXCLUSIVE on the materialized view for the whole refresh (EXCLUSIVE with CONCURRENTLY, which lets reads through).',
  safePattern:
    'REFRESH MATERIALIZED VIEW CONCURRENTLY, which needs a unique index on the view (create it with CREATE UNIQUE INDEX CONCURRENTLY first); a view created in the same migration may be refreshed plainly.',
  check(statement, context) {
    const node = statement.node;
    if (!('RefreshMatViewStmt' in node) || node.RefreshMatViewStmt.concurrent) return [];
    const view = tableNameOf(node.RefreshMatViewStmt.relation);
    if (context.isNewTable(view)) return [];
    const v = displayTable(view);
    return [
      {
        message: node.RefreshMatViewStmt.skipData
          ? `REFRESH MATERIALIZED VIEW ${v} WITH NO DATA empties ${v}: every query of the running release on it fails until the next refresh.`
          : `REFRESH MATERIALIZED VIEW ${v} holds an ACCESS EXCLUSIVE lock on ${v} while the view's query runs: every read of ${v} waits until it ends.`,
        safeAlternative: [
          `-- once, in a file of its own (CREATE INDEX CONCURRENTLY cannot run in a transaction): a unique index to match rows on`,
          `CREATE UNIQUE INDEX CONCURRENTLY ... ON ${v} (<a unique key of the view>);`,
          `-- then reads go on during the refresh:`,
          `REFRESH MATERIALIZED VIEW CONCURRENTLY ${v};`,
        ].join('\n'),
      },
    ];
  },
};
