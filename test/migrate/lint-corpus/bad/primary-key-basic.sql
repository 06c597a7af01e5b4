-- expect: add-unique-constraint
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE page_views ADD PRIMARY KEY (id);
