-- expect: change-column-type
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE "crm"."Contacts" ALTER COLUMN "Zip" TYPE varchar(12);
