-- expect: detach-partition-not-concurrently, drop-table
SET lock_timeout = '5s';
ALTER TABLE metrics DETACH PARTITION metrics_2021;
DROP TABLE metrics_2021;
