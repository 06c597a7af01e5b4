-- expect: none
SET lock_timeout = '5s';
ALTER TABLE "Café" ADD COLUMN "Größe" text;
