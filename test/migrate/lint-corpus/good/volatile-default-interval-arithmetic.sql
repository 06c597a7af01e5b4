-- expect: none
SET lock_timeout = '5s';
ALTER TABLE trials ADD COLUMN expires_at timestamptz DEFAULT now() + interval '30 days';
