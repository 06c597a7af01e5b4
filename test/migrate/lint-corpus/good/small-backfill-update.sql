-- expect: none
SET lock_timeout = '5s';
UPDATE plans SET display_name = initcap(name) WHERE display_name IS NULL;
