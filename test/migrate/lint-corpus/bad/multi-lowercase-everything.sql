-- expect: drop-not-null, add-check-not-valid
set lock_timeout = '5s';
set statement_timeout = '20min';
alter table wishlists alter column owner_id drop not null;
alter table wishlists add constraint wishlists_size check (item_count <= 500);
