-- expect: none
SET lock_timeout = '5s';
ALTER TABLE price_rules_live ADD CONSTRAINT price_rules_live_pct CHECK (pct <= 100) NOT ENFORCED;
