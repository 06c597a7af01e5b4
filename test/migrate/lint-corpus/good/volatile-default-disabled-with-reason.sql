-- expect: none
SET lock_timeout = '5s';
SET statement_timeout = '2min';
-- cutover-lint-disable-next-statement add-column-volatile-default: seed_value() is IMMUTABLE, created in 0041_seed.sql
ALTER TABLE seeds ADD COLUMN v int DEFAULT seed_value();
