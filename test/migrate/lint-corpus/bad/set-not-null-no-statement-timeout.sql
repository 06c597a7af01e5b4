-- expect: set-not-null, missing-statement-timeout
SET lock_timeout = '5s';
ALTER TABLE "Accounts" ALTER COLUMN "OwnerId" SET NOT NULL;
