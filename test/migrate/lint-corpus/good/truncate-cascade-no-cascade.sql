-- expect: none
SET lock_timeout = '5s';
TRUNCATE import_rows, import_batches;
