-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX docs_body_fts ON content.docs USING gin (to_tsvector('english', body));
