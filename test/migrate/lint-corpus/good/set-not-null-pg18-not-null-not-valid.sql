-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_nn NOT NULL reason NOT VALID;
ALTER TABLE refunds VALIDATE CONSTRAINT refunds_reason_nn;
