-- expect: none
CREATE TABLE page_hits (hit_at timestamptz NOT NULL, path text) PARTITION BY RANGE (hit_at);
CREATE TABLE page_hits_2026 PARTITION OF page_hits FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE page_hits DETACH PARTITION page_hits_2026;
