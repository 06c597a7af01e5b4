-- expect: lock-table
SET lock_timeout = '5s';
LOCK accounts, ledger IN ACCESS EXCLUSIVE MODE NOWAIT;
