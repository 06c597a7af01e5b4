-- expect: rename-table
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE carts RENAME TO baskets;
CREATE VIEW carts AS SELECT * FROM baskets;
