import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hitsOf } from './lint-sql.js';

/**
 * set-not-null accepts SET NOT NULL after a validated CHECK (column IS NOT
 * NULL), because PostgreSQL 12+ then skips its scan. The linter kept that
 * proof after the check was dropped, so dropping it first (the right steps
 * in the wrong order) passed, while PostgreSQL scans the table under ACCESS
 * EXCLUSIVE again.
 */
const HEADER = "-- cutover:no-transaction\nSET lock_timeout = '5s'; SET statement_timeout = '10min';\n";
const PROVE = `ALTER TABLE payments ADD CONSTRAINT payments_currency_nn CHECK (currency IS NOT NULL) NOT VALID;
ALTER TABLE payments VALIDATE CONSTRAINT payments_currency_nn;
`;

describe('a dropped NOT NULL check proves nothing', () => {
  it('flags SET NOT NULL after the check that proved it was dropped', async () => {
    assert.deepEqual(
      await hitsOf(
        `${HEADER}${PROVE}ALTER TABLE payments DROP CONSTRAINT payments_currency_nn;\nALTER TABLE payments ALTER COLUMN currency SET NOT NULL;`,
      ),
      ['set-not-null@6:1'],
    );
  });

  it('accepts the documented order, and a drop of another constraint', async () => {
    assert.deepEqual(
      await hitsOf(
        `${HEADER}${PROVE}ALTER TABLE payments ALTER COLUMN currency SET NOT NULL;\nALTER TABLE payments DROP CONSTRAINT payments_currency_nn;`,
      ),
      [],
    );
    assert.deepEqual(
      await hitsOf(
        `${HEADER}${PROVE}ALTER TABLE payments DROP CONSTRAINT payments_amount_check;\nALTER TABLE payments ALTER COLUMN currency SET NOT NULL;`,
      ),
      [],
    );
  });
});
