-- expect: drop-index-not-concurrently
SET lock_timeout = '5s';
DROP INDEX orders_old_status_idx;
