-- expect: drop-schema-cascade
DROP SCHEMA staging CASCADE;
