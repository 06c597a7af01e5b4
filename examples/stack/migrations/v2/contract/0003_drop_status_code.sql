-- Contract: v1 is the last release that knew status_code. cutover holds this
-- migration back while any release older than it runs, and applies it when
-- that release stops (auto_contract) or on `cutover migrate run`.
SET lock_timeout = '5s';
ALTER TABLE orders DROP COLUMN IF EXISTS status_code;
