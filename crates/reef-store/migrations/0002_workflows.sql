-- Workflow runs (what the API calls operations) and their step logs.
-- Portable SQL, as 0001: ids are UUID text, times Unix milliseconds, flags 0/1 integers.

CREATE TABLE workflows (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    input            TEXT NOT NULL,
    status           TEXT NOT NULL,
    error            TEXT,
    failed_step      TEXT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    -- Not taken by a worker before this time (a retry's backoff).
    run_after        BIGINT NOT NULL,
    -- The worker running it, until its lease expires.
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX workflows_runnable ON workflows (status, run_after);
CREATE INDEX workflows_org ON workflows (org_id, subject, id);
-- One run at a time per subject: a second change to a cluster waits for the first.
CREATE UNIQUE INDEX workflows_one_active ON workflows (org_id, subject)
    WHERE status IN ('pending', 'running', 'unwinding');

CREATE TABLE workflow_steps (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    idx         BIGINT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    -- The step's output, JSON; what later steps and the step's undo read.
    output      TEXT,
    error       TEXT,
    started_at  BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (workflow_id, idx)
);
-- Past durations of a step, for estimates.
CREATE INDEX workflow_steps_name ON workflow_steps (name, status);
