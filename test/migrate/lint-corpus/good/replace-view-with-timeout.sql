-- expect: none
SET lock_timeout = '5s';
CREATE OR REPLACE VIEW active_users AS SELECT id, email, created_at FROM users WHERE deleted_at IS NULL;
