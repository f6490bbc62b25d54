-- Clusters, their labels and every change of their status.
-- Portable SQL, as 0001: ids are UUID text, times Unix milliseconds; node pools are JSON text.

CREATE TABLE clusters (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    provider           TEXT NOT NULL,
    region             TEXT NOT NULL,
    kubernetes_version TEXT NOT NULL,
    node_pools         TEXT NOT NULL,
    secret_name        TEXT,
    status             TEXT NOT NULL,
    status_message     TEXT NOT NULL,
    endpoint           TEXT,
    -- The kubeconfig reef uses and hands out, sealed like a secret's values.
    kubeconfig         TEXT,
    operation_id       TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX clusters_org ON clusters (org_id, id);
-- A name is taken by the organization's clusters that are not deleted.
CREATE UNIQUE INDEX clusters_name ON clusters (org_id, name) WHERE status <> 'deleted';

CREATE TABLE cluster_labels (
    cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (cluster_id, key)
);
CREATE INDEX cluster_labels_key ON cluster_labels (key, value);

CREATE TABLE cluster_status_changes (
    cluster_id   TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    cause        TEXT NOT NULL,
    operation_id TEXT,
    at           BIGINT NOT NULL,
    PRIMARY KEY (cluster_id, seq)
);
