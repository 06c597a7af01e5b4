-- expect: none
CREATE TABLE "Audit" (id bigint PRIMARY KEY, at timestamptz);
CREATE INDEX "Audit_at_idx" ON "Audit" (at);
