-- expect: nested-transaction
begin;
begin;
set lock_timeout = '5s';
alter table tickets add column labels text[];
commit;
