-- expect: missing-statement-timeout
SET lock_timeout = '5s';
ALTER TABLE big_blobs SET TABLESPACE fast_ssd;
