-- expect: none
/* a block comment before everything */
SET lock_timeout = '5s'; -- trailing comment
ALTER TABLE wishlists /* inline */ ADD COLUMN shared boolean NOT NULL DEFAULT false;
