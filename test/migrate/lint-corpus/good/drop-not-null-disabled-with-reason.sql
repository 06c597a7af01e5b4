-- expect: none
SET lock_timeout = '5s';
-- cutover-lint-disable-next-statement drop-not-null: release 41 stops writing fax before it is dropped; old release only reads it
ALTER TABLE customers ALTER COLUMN fax DROP NOT NULL;
