-- expect: add-unique-constraint
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE "Auth"."Users" ADD CONSTRAINT "Users_Email_key" UNIQUE ("Email");
