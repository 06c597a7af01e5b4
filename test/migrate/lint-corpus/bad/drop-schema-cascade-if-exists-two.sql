-- expect: drop-schema-cascade
DROP SCHEMA IF EXISTS tmp_import, "Scratch" CASCADE;
