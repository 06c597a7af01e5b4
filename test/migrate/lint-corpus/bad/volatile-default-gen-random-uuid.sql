-- expect: add-column-volatile-default
SET lock_timeout = '3s';
SET statement_timeout = '20min';
ALTER TABLE public.orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
