-- expect: drop-schema-cascade
-- cutover:phase contract
DROP SCHEMA reporting_v1 CASCADE;
