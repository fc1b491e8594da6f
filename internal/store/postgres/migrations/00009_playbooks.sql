-- +goose Up
-- SQLite's 00009_playbooks.sql in PostgreSQL's words (BIGINT microseconds for times).
-- Response playbooks (internal/playbook): playbooks with every version of
-- their source, runs with the step records written after each step (so a
-- restart resumes each run where it stopped), tenants' connectors with
-- sealed secrets, and the values playbooks put on block lists.
CREATE TABLE playbooks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    enabled    BIGINT NOT NULL DEFAULT 0,
    source     TEXT NOT NULL,
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, name)
);

CREATE TABLE playbook_versions (
    playbook_id TEXT NOT NULL,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    created     BIGINT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (playbook_id, version)
);

CREATE TABLE playbook_runs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    playbook_id TEXT NOT NULL,
    playbook    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    status      TEXT NOT NULL,
    dry_run     BIGINT NOT NULL DEFAULT 0,
    started_via TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    alert_id    TEXT NOT NULL DEFAULT '',
    alert       TEXT NOT NULL,
    case_id     TEXT NOT NULL DEFAULT '',
    started_by  TEXT NOT NULL DEFAULT '',
    next_step   BIGINT NOT NULL DEFAULT 0,
    wake_at     BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    UNIQUE (playbook_id, trigger_key)
);
CREATE INDEX playbook_runs_tenant ON playbook_runs (tenant_id, created);
CREATE INDEX playbook_runs_due ON playbook_runs (status, wake_at);

CREATE TABLE playbook_steps (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);

CREATE TABLE playbook_connectors (
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    config     TEXT NOT NULL,
    secret     TEXT NOT NULL DEFAULT '',
    updated    BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE playbook_blocks (
    tenant_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    value     TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    run_id    TEXT NOT NULL DEFAULT '',
    step_id   TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL DEFAULT '',
    created   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, type, value)
);

-- +goose Down
DROP TABLE playbook_blocks;
DROP TABLE playbook_connectors;
DROP TABLE playbook_steps;
DROP TABLE playbook_runs;
DROP TABLE playbook_versions;
DROP TABLE playbooks;
