-- expect: add-check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
BEGIN;
ALTER TABLE bookings ADD CONSTRAINT bookings_nights CHECK (nights BETWEEN 1 AND 60) NOT VALID;
ALTER TABLE bookings VALIDATE CONSTRAINT bookings_nights;
COMMIT;
