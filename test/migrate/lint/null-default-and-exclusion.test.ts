import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hitsOf } from './lint-sql.js';

/**
 * Two statements the linter passed although they hurt a running service:
 *
 * - `ADD COLUMN c int NOT NULL DEFAULT NULL` counted as "has a default", yet
 *   a NULL default fills nothing: it fails on a table with rows and breaks
 *   the running release's INSERTs exactly as a NOT NULL column without a
 *   default does.
 * - `ADD CONSTRAINT ... EXCLUDE` builds its index under ACCESS EXCLUSIVE
 *   like UNIQUE does, with no concurrent form at all.
 */
const TIMEOUT = "SET lock_timeout = '5s'; SET statement_timeout = '10min';\n";

describe('NOT NULL with a NULL default, and exclusion constraints', () => {
  it('flags NOT NULL DEFAULT NULL (and a cast NULL) as a NOT NULL column without a default', async () => {
    for (const column of [
      'c integer NOT NULL DEFAULT NULL',
      'c integer DEFAULT NULL NOT NULL',
      'c integer NOT NULL DEFAULT NULL::integer',
      'c text not null default (null)::text',
    ]) {
      assert.deepEqual(
        await hitsOf(`${TIMEOUT}ALTER TABLE users ADD COLUMN ${column};`),
        ['add-column-not-null-no-default@2:1'],
        column,
      );
    }
    for (const column of ['c integer NOT NULL DEFAULT 0', "c text NOT NULL DEFAULT 'NULL'", 'c integer DEFAULT NULL']) {
      assert.deepEqual(await hitsOf(`${TIMEOUT}ALTER TABLE users ADD COLUMN ${column};`), [], column);
    }
  });

  it('flags ADD CONSTRAINT ... EXCLUDE on an existing table, not on a table the file creates', async () => {
    assert.deepEqual(
      await hitsOf(
        `${TIMEOUT}ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);`,
      ),
      ['add-unique-constraint@2:1'],
    );
    assert.deepEqual(await hitsOf(`${TIMEOUT}alter table app."Bookings" add exclude using gist (during with &&);`), [
      'add-unique-constraint@2:1',
    ]);
    assert.deepEqual(
      await hitsOf(
        `${TIMEOUT}CREATE TABLE bookings (room int, during tstzrange);\nALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);`,
      ),
      [],
    );
  });
});
