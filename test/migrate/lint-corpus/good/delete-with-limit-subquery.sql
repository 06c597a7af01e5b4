-- expect: none
DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < '2024-01-01' LIMIT 1000);
