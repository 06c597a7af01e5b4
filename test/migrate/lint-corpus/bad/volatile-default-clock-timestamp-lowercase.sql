-- expect: add-column-volatile-default
set lock_timeout = '2s';
set statement_timeout = '10min';
alter table events add column ingested_at timestamptz default clock_timestamp();
