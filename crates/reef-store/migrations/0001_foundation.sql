-- Users, organizations, tokens, secrets and the audit log.
-- Portable SQL: this file runs unchanged on SQLite and PostgreSQL. Ids are UUID text,
-- times are Unix milliseconds, flags are 0/1 integers, ciphertext is base64 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    server_admin  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, org_id);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id, kind, id);

CREATE TABLE secrets (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    fields     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX secrets_org ON secrets (org_id, id);

CREATE TABLE secret_versions (
    secret_id  TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (secret_id, version)
);

-- What uses a secret (a cluster, a deployment, ...): a secret with uses cannot be deleted.
CREATE TABLE secret_uses (
    secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    used_by   TEXT NOT NULL,
    PRIMARY KEY (secret_id, used_by)
);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    at          BIGINT NOT NULL,
    operation   TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    error_code  TEXT
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
