-- expect: none
INSERT INTO settings (key, value) VALUES ('maintenance', 'off')
  ON CONFLICT (key) DO NOTHING;
