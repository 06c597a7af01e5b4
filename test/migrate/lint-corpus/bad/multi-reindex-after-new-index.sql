-- expect: reindex-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX CONCURRENTLY IF NOT EXISTS carts_user_idx ON carts (user_id);
REINDEX INDEX carts_created_idx;
