import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lintMigration, type TransactionMode } from '../../../src/migrate/lint/index.js';

async function modeOf(sql: string): Promise<string> {
  const mode: TransactionMode | undefined = (await lintMigration(sql, { file: 'm.sql' })).transaction;
  if (!mode) return 'unparsed';
  return mode.wrapped
    ? 'single transaction'
    : `per statement (${mode.reason}${mode.statement ? `: ${mode.statement.text}` : ''})`;
}

describe('how the runner will run a file', () => {
  it('as one transaction by default', async () => {
    assert.equal(await modeOf('ALTER TABLE a ADD COLUMN b text;\nUPDATE a SET b = 1;'), 'single transaction');
  });

  it('statement by statement with a no-transaction header', async () => {
    assert.equal(await modeOf('-- cutover:no-transaction\nALTER TABLE a ADD COLUMN b text;'), 'per statement (header)');
  });

  it('statement by statement when a statement cannot run in a transaction block', async () => {
    assert.equal(
      await modeOf('SELECT 1;\nCREATE INDEX CONCURRENTLY i ON a (b);'),
      'per statement (statement-outside-transaction: CREATE INDEX CONCURRENTLY i ON a (b))',
    );
    assert.equal(
      await modeOf('DROP INDEX CONCURRENTLY i;'),
      'per statement (statement-outside-transaction: DROP INDEX CONCURRENTLY i)',
    );
    assert.equal(
      await modeOf('REINDEX INDEX CONCURRENTLY i;'),
      'per statement (statement-outside-transaction: REINDEX INDEX CONCURRENTLY i)',
    );
    assert.equal(
      await modeOf('ALTER TABLE p DETACH PARTITION c CONCURRENTLY;'),
      'per statement (statement-outside-transaction: ALTER TABLE p DETACH PARTITION c CONCURRENTLY)',
    );
    assert.equal(await modeOf('VACUUM a;'), 'per statement (statement-outside-transaction: VACUUM a)');
  });

  it('statement by statement when the file manages its own transactions', async () => {
    assert.equal(
      await modeOf('BEGIN;\nALTER TABLE a ADD COLUMN b text;\nCOMMIT;'),
      'per statement (explicit-transactions: BEGIN)',
    );
  });

  it('not at all when it does not parse', async () => {
    assert.equal(await modeOf('ALTER TABLE;'), 'unparsed');
  });
});
