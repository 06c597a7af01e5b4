-- expect: none
COMMENT ON COLUMN users.email IS 'login address, lower case';
