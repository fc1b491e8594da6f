-- +goose Up
-- SQLite's 00008_cases.sql in PostgreSQL's words (BIGINT microseconds, BYTEA content).
-- Cases (internal/cases): incidents of one tenant with their linked
-- alerts, tasks, notes, observables, evidence (content in its own table so
-- that lists never read it), the append-only timeline, tenants' own case
-- templates and SLA targets. Times are microseconds since the epoch, 0 for
-- none. The indexes serve the case list's filters and sorts within a
-- tenant, and the tracker's open rows.
CREATE TABLE cases (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    phase         TEXT NOT NULL,
    open          INTEGER NOT NULL,
    resolution    TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL DEFAULT '',
    assignee      TEXT NOT NULL DEFAULT '',
    assignee_name TEXT NOT NULL DEFAULT '',
    reopened      INTEGER NOT NULL DEFAULT 0,
    acknowledged  BIGINT NOT NULL DEFAULT 0,
    contained     BIGINT NOT NULL DEFAULT 0,
    closed        BIGINT NOT NULL DEFAULT 0,
    ack_due       BIGINT NOT NULL DEFAULT 0,
    contain_due   BIGINT NOT NULL DEFAULT 0,
    close_due     BIGINT NOT NULL DEFAULT 0,
    creator       TEXT NOT NULL,
    created       BIGINT NOT NULL,
    updated       BIGINT NOT NULL,
    version       INTEGER NOT NULL
);
-- Within a tenant (tenant roles, a provider working in one tenant) and
-- across all of them (a provider's default view), each list order and
-- filter walks an index; id breaks ties, as in the queries' ORDER BY.
CREATE INDEX cases_tenant_updated ON cases (tenant_id, updated, id);
CREATE INDEX cases_tenant_created ON cases (tenant_id, created, id);
CREATE INDEX cases_tenant_open_updated ON cases (tenant_id, open, updated, id);
CREATE INDEX cases_tenant_phase_updated ON cases (tenant_id, phase, updated);
CREATE INDEX cases_tenant_severity ON cases (tenant_id, severity_rank, updated, id);
CREATE INDEX cases_tenant_assignee ON cases (tenant_id, assignee, updated);
CREATE INDEX cases_tenant_open_due ON cases (tenant_id, open, close_due);
CREATE INDEX cases_updated ON cases (updated, id);
CREATE INDEX cases_created ON cases (created, id);
CREATE INDEX cases_open_updated ON cases (open, updated, id);
CREATE INDEX cases_severity_updated ON cases (severity_rank, updated, id);

CREATE TABLE case_alerts (
    case_id   TEXT NOT NULL,
    alert_id  TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (case_id, alert_id)
);
CREATE INDEX case_alerts_alert ON case_alerts (alert_id);

CREATE TABLE case_tasks (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    phase       TEXT NOT NULL DEFAULT '',
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    owner_name  TEXT NOT NULL DEFAULT '',
    due         BIGINT NOT NULL DEFAULT 0,
    completed   BIGINT NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL
);
CREATE INDEX case_tasks_case ON case_tasks (case_id, position);
CREATE INDEX case_tasks_tenant_status ON case_tasks (tenant_id, status, due);
CREATE INDEX case_tasks_status ON case_tasks (status, due);

CREATE TABLE case_notes (
    id        TEXT PRIMARY KEY,
    case_id   TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    author    TEXT NOT NULL,
    body      TEXT NOT NULL,
    created   BIGINT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, created);

CREATE TABLE case_observables (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    creator     TEXT NOT NULL,
    created     BIGINT NOT NULL,
    UNIQUE (case_id, type, value)
);
CREATE INDEX case_observables_value ON case_observables (tenant_id, value);

CREATE TABLE case_evidence (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    uploader     TEXT NOT NULL,
    uploaded     BIGINT NOT NULL
);
CREATE INDEX case_evidence_case ON case_evidence (case_id, uploaded);

CREATE TABLE case_evidence_content (
    id   TEXT PRIMARY KEY,
    data BYTEA NOT NULL
);

CREATE TABLE case_timeline (
    id        BIGSERIAL PRIMARY KEY,
    case_id   TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    time      BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    addr      TEXT NOT NULL DEFAULT '',
    kind      TEXT NOT NULL,
    ref       TEXT NOT NULL DEFAULT '',
    text      TEXT NOT NULL
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, id);
CREATE INDEX case_timeline_ref ON case_timeline (case_id, ref, id);

-- +goose StatementBegin
CREATE FUNCTION case_timeline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the case timeline is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER case_timeline_no_change BEFORE UPDATE OR DELETE ON case_timeline
    FOR EACH ROW EXECUTE FUNCTION case_timeline_append_only();
CREATE TRIGGER case_timeline_no_truncate BEFORE TRUNCATE ON case_timeline
    FOR EACH STATEMENT EXECUTE FUNCTION case_timeline_append_only();

CREATE TABLE case_templates (
    tenant_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    data      TEXT NOT NULL,
    updated   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, type)
);

CREATE TABLE case_sla (
    tenant_id       TEXT NOT NULL,
    severity        TEXT NOT NULL,
    ack_seconds     BIGINT NOT NULL,
    contain_seconds BIGINT NOT NULL,
    close_seconds   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, severity)
);

-- +goose Down
DROP TABLE case_sla;
DROP TABLE case_templates;
DROP TABLE case_timeline;
DROP FUNCTION case_timeline_append_only;
DROP TABLE case_evidence_content;
DROP TABLE case_evidence;
DROP TABLE case_observables;
DROP TABLE case_notes;
DROP TABLE case_tasks;
DROP TABLE case_alerts;
DROP TABLE cases;
