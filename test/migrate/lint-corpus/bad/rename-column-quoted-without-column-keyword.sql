-- expect: rename-column
SET lock_timeout = '5s';
ALTER TABLE "Orders" RENAME "Total" TO total_amount;
