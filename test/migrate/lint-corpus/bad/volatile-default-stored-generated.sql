-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE line_items
  ADD COLUMN total numeric(14, 2) GENERATED ALWAYS AS (qty * unit_price) STORED;
