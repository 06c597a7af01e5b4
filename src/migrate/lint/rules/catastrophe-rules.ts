import { quoteIdentifier, stringsOf } from '../sql-names.js';
import type { StatementRule } from './lint-rule.js';

/**
 * Statements no migration of a running service should hold, in any phase:
 * they remove far more than the author named, and only a restore brings it
 * back.
 */

export const dropDatabase: StatementRule = {
  id: 'drop-database',
  severity: 'error',
  summary: 'DROP DATABASE',
  why: 'It deletes every table, every row and every object of a database at once; no release survives it and only a restore from backup brings it back. It is an operator action, not a migration of a running service (and PostgreSQL refuses it inside a transaction).',
  lock: 'An exclusive lock on the whole database: it fails while anyone is connected, or (WITH (FORCE)) disconnects them.',
  safePattern: 'Take it out of the migration; an operator drops a retired database by hand, after a final backup.',
  check(statement) {
    const node = statement.node;
    if (!('DropdbStmt' in node)) return [];
    const name = quoteIdentifier(node.DropdbStmt.dbname ?? 'the database');
    return [
      {
        message: `DROP DATABASE ${name} deletes every object and row in ${name}; no release can run against it afterwards and only a restore undoes it.`,
        safeAlternative: [
          '-- remove the statement from the migration. Retire a database by hand, once nothing uses it:',
          `--   pg_dump --format=custom ${name} > final.dump   # a last backup`,
          `--   dropdb ${name}`,
        ].join('\n'),
      },
    ];
  },
};

export const dropSchemaCascade: StatementRule = {
  id: 'drop-schema-cascade',
  severity: 'error',
  summary: 'DROP SCHEMA ... CASCADE',
  why: 'CASCADE drops every table, view, function and type in the schema, and every object elsewhere that depends on them, without naming any: the migration removes what its author never listed.',
  lock: 'ACCESS EXCLUSIVE on every table and view it drops, in the schema and outside it.',
  safePattern:
    'Drop the objects you mean by name in a contract migration, then the empty schema without CASCADE (which fails if anything is left, as it should).',
  check(statement) {
    const node = statement.node;
    if (!('DropStmt' in node) || node.DropStmt.removeType !== 'OBJECT_SCHEMA') return [];
    if (node.DropStmt.behavior !== 'DROP_CASCADE') return [];
    const schemas = stringsOf(node.DropStmt.objects).map(quoteIdentifier).join(', ');
    return [
      {
        message: `DROP SCHEMA ${schemas} CASCADE drops everything in ${schemas} and everything elsewhere that depends on it, none of it named in the migration.`,
        safeAlternative: [
          '-- in a contract migration, name what goes:',
          `-- DROP TABLE ${schemas}.<table>; DROP VIEW ${schemas}.<view>; ...`,
          `DROP SCHEMA ${schemas};  -- RESTRICT (the default): fails if anything is left`,
        ].join('\n'),
      },
    ];
  },
};
