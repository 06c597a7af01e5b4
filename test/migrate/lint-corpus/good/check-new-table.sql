-- expect: none
CREATE TABLE price_rules (id bigint, pct numeric);
ALTER TABLE price_rules ADD CONSTRAINT price_rules_pct CHECK (pct BETWEEN 0 AND 100);
