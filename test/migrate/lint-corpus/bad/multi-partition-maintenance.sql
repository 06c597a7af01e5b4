-- expect: detach-partition-not-concurrently, create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE TABLE clicks_2026 PARTITION OF clicks FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE clicks DETACH PARTITION clicks_2019;
CREATE INDEX clicks_2020_user_idx ON clicks_2020 (user_id);
