-- expect: none
SET lock_timeout = '5s';
ALTER TABLE tenants ADD COLUMN limits jsonb DEFAULT jsonb_build_object('users', 10, 'projects', 3);
