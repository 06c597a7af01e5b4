-- expect: drop-trigger, missing-lock-timeout
DROP TRIGGER users_touch ON users;
