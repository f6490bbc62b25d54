-- Chart repositories of each organization, their last fetched index, and chart archives
-- fetched from them, kept by digest.
CREATE TABLE chart_repos (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    -- The organization's secret with the repository's credentials (username and password).
    secret_name  TEXT,
    index_yaml   TEXT NOT NULL,
    charts       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX chart_repos_name ON chart_repos (org_id, name);

CREATE TABLE chart_archives (
    digest     TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
