-- v2 reads and writes `status` (text). Expand: a nullable column, no rewrite,
-- safe while v1 still runs and writes status_code.
SET lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text;
