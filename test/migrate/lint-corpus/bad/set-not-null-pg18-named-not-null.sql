-- expect: set-not-null
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_nn NOT NULL reason;
