-- expect: none
SET lock_timeout = '5s';
CREATE TABLE subscriptions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  plan text NOT NULL DEFAULT 'free',
  started_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_account_idx ON subscriptions (account_id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_account_fkey
  FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
ALTER TABLE accounts ADD COLUMN subscription_id bigint;
ALTER TABLE accounts ALTER COLUMN subscription_id SET DEFAULT NULL;
