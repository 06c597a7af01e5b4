-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE UNIQUE INDEX users_lower_email ON users (lower(email));
