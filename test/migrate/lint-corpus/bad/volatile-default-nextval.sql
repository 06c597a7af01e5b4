-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE orders ADD COLUMN ticket bigint DEFAULT nextval('orders_ticket_seq');
