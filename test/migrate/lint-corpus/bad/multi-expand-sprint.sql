-- expect: add-column-volatile-default, create-index-not-concurrently, rename-column
SET lock_timeout = '5s';
SET statement_timeout = '30min';
ALTER TABLE orders ADD COLUMN external_ref uuid DEFAULT gen_random_uuid();
CREATE INDEX orders_external_ref_idx ON orders (external_ref);
ALTER TABLE orders RENAME COLUMN notes TO internal_notes;
