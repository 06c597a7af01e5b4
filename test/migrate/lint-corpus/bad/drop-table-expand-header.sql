-- expect: drop-table
-- cutover:phase expand
SET lock_timeout = '5s';
DROP TABLE feature_votes;
