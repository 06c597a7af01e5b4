-- expect: detach-partition-not-concurrently
SET lock_timeout = '5s';
ALTER TABLE "telemetry"."Readings" DETACH PARTITION "telemetry"."Readings_2021";
