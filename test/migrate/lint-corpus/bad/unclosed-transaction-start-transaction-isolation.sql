-- expect: unclosed-transaction
START TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SET LOCAL lock_timeout = '5s';
UPDATE tickets SET priority = 2 WHERE priority IS NULL;
