import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingsOf, hitsOf } from './lint-sql.js';

/**
 * drop-table looked at DROP TABLE only, so an expand migration could drop a
 * view (or a materialized view) the running release still queries: the view
 * rename-table's safe rewrite leaves under the old name, to be dropped in a
 * contract migration, went in an expand one without a word.
 */
const TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '10min';\n";

describe('dropping views', () => {
  it('flags DROP VIEW and DROP MATERIALIZED VIEW in an expand migration', async () => {
    assert.deepEqual(await hitsOf(`${TIMEOUT}DROP VIEW customers;`), ['drop-table@2:1']);
    assert.deepEqual(await hitsOf(`${TIMEOUT}drop view if exists public."Customers", app.clients cascade;`), [
      'drop-table@2:1',
    ]);
    assert.deepEqual(await hitsOf(`${TIMEOUT}DROP MATERIALIZED VIEW daily_totals;`), ['drop-table@2:1']);
    const [finding] = await findingsOf(`${TIMEOUT}DROP VIEW customers;`);
    assert.match(finding!.message, /Dropping view customers in an expand migration/);
    assert.match(finding!.safeAlternative, /DROP VIEW customers;/);
  });

  it('allows them in a contract migration, and leaves other drops alone', async () => {
    assert.deepEqual(await hitsOf(`${TIMEOUT}DROP VIEW customers;`, 'db/contract/0009_drop_view.sql'), []);
    assert.deepEqual(await hitsOf(`-- cutover:phase contract\n${TIMEOUT}DROP MATERIALIZED VIEW daily_totals;`), []);
    assert.deepEqual(await hitsOf(`${TIMEOUT}DROP FUNCTION IF EXISTS old_helper();`), []);
  });
});
