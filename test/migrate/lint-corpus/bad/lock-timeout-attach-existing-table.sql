-- expect: missing-lock-timeout
ALTER TABLE metrics ATTACH PARTITION metrics_2025
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
