-- expect: none
CREATE INDEX CONCURRENTLY IF NOT EXISTS docs_body_fts ON content.docs USING gin (to_tsvector('english', body));
