-- expect: concurrently-in-transaction, unclosed-transaction
BEGIN;
CREATE INDEX CONCURRENTLY vendors_name_idx ON vendors (name);
