-- expect: none
SET lock_timeout = '5s';
CREATE TABLE metrics_2028 PARTITION OF metrics FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');
