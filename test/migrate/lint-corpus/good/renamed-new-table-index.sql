-- expect: none
CREATE TABLE tmp_quotes (id bigint, amount numeric);
ALTER TABLE tmp_quotes RENAME TO quotes;
CREATE INDEX quotes_amount_idx ON quotes (amount);
