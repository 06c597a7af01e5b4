-- expect: rename-enum-value
SET lock_timeout = '5s';
ALTER TYPE public.order_status RENAME VALUE 'shipped' TO 'dispatched';
