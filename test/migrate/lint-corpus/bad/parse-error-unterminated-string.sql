-- expect: parse-error
SET lock_timeout = '5s';
COMMENT ON TABLE tickets IS 'support tickets;
