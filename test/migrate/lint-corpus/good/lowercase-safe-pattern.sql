-- expect: none
-- cutover:no-transaction
set lock_timeout = '5s';
alter table wishlists add constraint wishlists_size check (item_count <= 500) not valid;
alter table wishlists validate constraint wishlists_size;
