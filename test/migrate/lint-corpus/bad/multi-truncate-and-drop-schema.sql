-- expect: truncate-cascade, drop-schema-cascade
SET lock_timeout = '5s';
TRUNCATE sandbox.events CASCADE;
DROP SCHEMA sandbox CASCADE;
