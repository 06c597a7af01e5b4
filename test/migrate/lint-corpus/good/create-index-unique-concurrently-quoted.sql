-- expect: none
CREATE UNIQUE INDEX CONCURRENTLY "Users_Email_key" ON "Auth"."Users" (lower("Email"));
