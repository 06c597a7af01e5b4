-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE articles ADD COLUMN slug text DEFAULT make_slug('untitled')::text;
