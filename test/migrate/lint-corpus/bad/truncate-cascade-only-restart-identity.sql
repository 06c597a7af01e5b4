-- expect: truncate-cascade
SET lock_timeout = '5s';
TRUNCATE ONLY import_batches, import_errors RESTART IDENTITY CASCADE;
