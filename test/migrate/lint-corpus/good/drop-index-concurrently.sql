-- expect: none
DROP INDEX CONCURRENTLY orders_old_status_idx;
