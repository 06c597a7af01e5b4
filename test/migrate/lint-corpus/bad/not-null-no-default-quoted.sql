-- expect: add-column-not-null-no-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE "UserProfiles" ADD COLUMN "DisplayName" varchar(80) NOT NULL;
