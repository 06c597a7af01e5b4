-- expect: none
START TRANSACTION;
SET LOCAL lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN source text;
END;
