-- expect: lock-table
SET lock_timeout = '5s';
LOCK TABLE accounts;
UPDATE accounts SET tier = 'basic' WHERE tier IS NULL;
