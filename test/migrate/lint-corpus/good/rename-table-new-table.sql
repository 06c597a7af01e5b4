-- expect: none
CREATE TABLE tmp_rates (currency char(3), rate numeric);
ALTER TABLE tmp_rates RENAME TO exchange_rates;
CREATE INDEX exchange_rates_currency_idx ON exchange_rates (currency);
