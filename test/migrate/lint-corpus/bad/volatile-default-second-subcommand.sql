-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE shops
  ADD COLUMN opening_note text,
  ADD COLUMN shop_key uuid DEFAULT gen_random_uuid();
