-- expect: concurrently-in-transaction
BEGIN;
ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;
COMMIT;
