-- expect: missing-lock-timeout
CREATE POLICY tenant_isolation ON documents
  USING (tenant_id = current_setting('app.tenant')::int);
