-- The last health check of each cluster: when it ran (Unix milliseconds; also the claim that
-- keeps several reef processes from checking one cluster at once) and what it found wrong.
ALTER TABLE clusters ADD COLUMN health_checked_at BIGINT;
ALTER TABLE clusters ADD COLUMN health_problem TEXT;
CREATE INDEX clusters_health ON clusters (status, health_checked_at);
