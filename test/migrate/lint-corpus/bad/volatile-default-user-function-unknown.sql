-- expect: add-column-volatile-default
-- build_defaults() was created by an earlier migration; nothing here says it is immutable
SET lock_timeout TO '2s';
SET statement_timeout TO '30min';
ALTER TABLE accounts ADD COLUMN prefs jsonb DEFAULT build_defaults();
