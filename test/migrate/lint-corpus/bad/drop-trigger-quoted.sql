-- expect: drop-trigger
SET lock_timeout = '5s';
DROP TRIGGER "AuditTrigger" ON "Ledger";
