import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployLinter } from '../../../src/migrate/deploy-linter.js';
import type { MigrationFile, MigrationPhase } from '../../../src/migrate/migration-files.js';

/**
 * The linter as a deploy runs it knows what `cutover migrate lint` on a lone
 * file cannot: the lock_timeout the runner sets (database.lock_timeout) and
 * the tables the pending migrations before a file create in the same run.
 */
const file = (id: string, sql: string, phase: MigrationPhase = 'expand'): MigrationFile => ({
  id,
  file: `/app/migrations/${phase === 'contract' ? 'contract/' : ''}${id}.sql`,
  phase,
  checksum: id,
  sql,
  noTransaction: false,
});

const rulesOf = async (files: MigrationFile[], lockTimeoutMs: number): Promise<string[]> =>
  // The runner always sets a statement_timeout (database.statement_timeout, 5 min by default).
  (await deployLinter()(files, { lockTimeoutMs, statementTimeoutMs: 300_000 })).map(
    (problem) => `${problem.rule}@${problem.file}`,
  );

describe('the deploy linter', () => {
  it('does not ask for a lock_timeout the runner sets from database.lock_timeout', async () => {
    const addColumn = file('0002_email', 'ALTER TABLE users ADD COLUMN email text;');
    assert.deepEqual(await rulesOf([addColumn], 5_000), []);
    assert.deepEqual(await rulesOf([addColumn], 0), ['missing-lock-timeout@0002_email.sql'], 'without one, it does');
  });

  it('does not ask for a statement_timeout the runner sets from database.statement_timeout', async () => {
    const rewrite = file(
      '0003_logged',
      '-- cutover-lint-disable-next-statement rewrite-table: a staging table of a few rows\nALTER TABLE imports SET LOGGED;',
    );
    assert.deepEqual(await rulesOf([rewrite], 5_000), []);
    const problems = await deployLinter()([rewrite], { lockTimeoutMs: 5_000 });
    assert.deepEqual(
      problems.map((problem) => problem.rule),
      ['missing-statement-timeout'],
      'without one, it does',
    );
  });

  it('still warns when the file turns the runner lock_timeout off', async () => {
    const off = file('0002_email', 'SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN email text;');
    assert.deepEqual(await rulesOf([off], 5_000), ['missing-lock-timeout@0002_email.sql']);
  });

  it('lets an index through on a table an earlier pending migration of the same phase creates', async () => {
    const create = file('0004_orders', 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint);');
    const renamed = file('0005_rename', 'ALTER TABLE orders RENAME TO purchases;');
    const index = file('0006_purchases_by_user', 'CREATE INDEX purchases_by_user ON purchases (user_id);');
    assert.deepEqual(await rulesOf([create, renamed, index], 5_000), []);
    assert.deepEqual(
      await rulesOf([index], 5_000),
      ['create-index-not-concurrently@0006_purchases_by_user.sql'],
      'alone (the table was applied before), the index is flagged',
    );
  });

  it('does not carry a table from the expand migrations to the contract ones, which run after the new release used it', async () => {
    const create = file('0004_orders', 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint);');
    const index = file('0005_orders_by_user', 'CREATE INDEX orders_by_user ON orders (user_id);', 'contract');
    assert.deepEqual(await rulesOf([create, index], 5_000), [
      'create-index-not-concurrently@contract/0005_orders_by_user.sql',
    ]);
  });
});
