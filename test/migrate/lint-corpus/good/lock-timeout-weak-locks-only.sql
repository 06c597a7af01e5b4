-- expect: none
CREATE TABLE stock_moves (id bigint PRIMARY KEY, qty int);
INSERT INTO stock_moves (id, qty) VALUES (1, 10);
CREATE VIEW stock_totals AS SELECT sum(qty) AS total FROM stock_moves;
