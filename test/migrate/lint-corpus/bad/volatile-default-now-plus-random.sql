-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE reminders ADD COLUMN fire_at timestamptz DEFAULT now() + random() * interval '1 day';
