-- expect: add-check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE rooms
  ADD CONSTRAINT rooms_beds CHECK (beds > 0),
  ADD CONSTRAINT rooms_floor CHECK (floor >= -2) NOT VALID;
