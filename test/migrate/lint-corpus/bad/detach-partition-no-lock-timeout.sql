-- expect: detach-partition-not-concurrently, missing-lock-timeout
ALTER TABLE access_log DETACH PARTITION access_log_2023_q1;
