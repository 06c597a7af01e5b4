-- expect: none
SET lock_timeout = '5s';
ALTER TABLE app.customers RENAME TO clients;
CREATE VIEW app.customers AS SELECT * FROM app.clients;
