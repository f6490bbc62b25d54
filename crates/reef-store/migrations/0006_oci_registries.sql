-- OCI registries as chart repositories (`oci://registry/path`): one may be reached over
-- plain HTTP rather than HTTPS (1).
ALTER TABLE chart_repos ADD COLUMN plain_http BIGINT NOT NULL DEFAULT 0;
