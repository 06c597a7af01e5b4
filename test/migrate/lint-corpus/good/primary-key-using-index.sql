-- expect: none
SET lock_timeout = '5s';
ALTER TABLE page_views ADD CONSTRAINT page_views_pkey PRIMARY KEY USING INDEX page_views_id_key;
