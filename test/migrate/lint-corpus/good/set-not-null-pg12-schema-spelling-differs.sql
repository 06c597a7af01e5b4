-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE public.accounts ADD CONSTRAINT accounts_owner_nn CHECK (owner_id IS NOT NULL) NOT VALID;
ALTER TABLE public.accounts VALIDATE CONSTRAINT accounts_owner_nn;
ALTER TABLE accounts ALTER COLUMN owner_id SET NOT NULL;
