-- expect: drop-database, drop-schema-cascade, drop-table, missing-lock-timeout
DROP TABLE IF EXISTS scratch_rows;
DROP SCHEMA scratch CASCADE;
DROP DATABASE scratch;
