-- expect: lock-table
SET lock_timeout = '5s';
LOCK TABLE ONLY ledger IN SHARE MODE;
