import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hitsOf } from './lint-sql.js';

/**
 * A DO block runs its body at once, in the migration's transaction, yet the
 * linter looked only at the DO statement itself: the idempotent idiom
 * `DO $$ BEGIN ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ...; EXCEPTION
 * WHEN duplicate_object THEN NULL; END $$` passed clean while it scans the
 * table under SHARE ROW EXCLUSIVE, and so did a DROP or a CREATE INDEX
 * wrapped in IF NOT EXISTS. The statements a DO block runs (and the constant
 * SQL an EXECUTE runs) are now checked like statements written alone, at
 * their own line and column; function bodies, which CREATE FUNCTION does not
 * run, stay unchecked.
 */
const TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '10min';\n";

describe('statements inside DO blocks', () => {
  it('flags what a DO block runs, at its position in the body', async () => {
    assert.deepEqual(
      await hitsOf(
        `${TIMEOUT}DO $$\nBEGIN\n  ALTER TABLE payments ADD CONSTRAINT payments_invoice_fkey FOREIGN KEY (invoice_id) REFERENCES invoices (id);\nEXCEPTION WHEN duplicate_object THEN NULL;\nEND $$;`,
      ),
      ['add-foreign-key-not-valid@4:3'],
    );
    assert.deepEqual(
      await hitsOf(
        `${TIMEOUT}do $body$ begin\n  if not exists (select 1 from pg_indexes where indexname = 'orders_placed_at_idx') then\n    create index orders_placed_at_idx on orders (placed_at);\n  end if;\nend $body$;`,
      ),
      ['create-index-not-concurrently@4:5'],
    );
    assert.deepEqual(await hitsOf(`${TIMEOUT}DO $$ BEGIN EXECUTE 'DROP TABLE legacy_sessions'; END $$;`), [
      'drop-table@2:21',
    ]);
    assert.deepEqual(
      await hitsOf(`${TIMEOUT}DO 'BEGIN ALTER TABLE "Customers" RENAME COLUMN phone TO phone_number; END';`),
      ['rename-column@2:11'],
    );
  });

  it('leaves alone function bodies, new tables, run-time SQL and disabled rules', async () => {
    const clean = [
      `${TIMEOUT}CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE sessions; END $$;`,
      `${TIMEOUT}CREATE TABLE audit (id int);\nDO $$ BEGIN CREATE INDEX ON audit (id); ALTER TABLE audit ADD CHECK (id > 0); END $$;`,
      `${TIMEOUT}DO $$ DECLARE t text := 'users'; BEGIN EXECUTE format('ALTER TABLE %I DROP COLUMN x', t); END $$;`,
      `${TIMEOUT}DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM users; RAISE NOTICE '%', n; END $$;`,
      `${TIMEOUT}-- cutover-lint-disable-next-statement add-foreign-key-not-valid: payments is empty everywhere\nDO $$ BEGIN ALTER TABLE payments ADD FOREIGN KEY (invoice_id) REFERENCES invoices (id); END $$;`,
    ];
    for (const sql of clean) assert.deepEqual(await hitsOf(sql), [], sql);
  });

  it('knows a lock_timeout the block sets for what follows in it', async () => {
    assert.deepEqual(await hitsOf(`DO $$ BEGIN ALTER TABLE users ADD COLUMN c int; END $$;`), [
      'missing-lock-timeout@1:13',
    ]);
    assert.deepEqual(
      await hitsOf(`DO $$ BEGIN SET LOCAL lock_timeout = '1s'; ALTER TABLE users ADD COLUMN c int; END $$;`),
      [],
    );
  });
});
