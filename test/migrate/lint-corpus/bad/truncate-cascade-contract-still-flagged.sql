-- expect: truncate-cascade
-- cutover:phase contract
SET lock_timeout = '5s';
truncate staging.raw_rows cascade;
