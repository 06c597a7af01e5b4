-- expect: none
-- PostgreSQL 11+: a constant default is stored once, no rewrite
SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active';
