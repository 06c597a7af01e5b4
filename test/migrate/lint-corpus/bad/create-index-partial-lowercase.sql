-- expect: create-index-not-concurrently
set lock_timeout = '5s';
set statement_timeout = '30min';
create index if not exists idx_open_tickets on tickets (created_at) where status = 'open';
