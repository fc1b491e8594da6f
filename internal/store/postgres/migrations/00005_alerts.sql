-- +goose Up
-- SQLite's 00005_alerts.sql in PostgreSQL's words (BIGINT microseconds for times).
-- Detection (internal/alert, internal/detect/rules): alerts, their tuning
-- exceptions, the rule sets with their versions, each tenant's rule
-- settings, and the live correlators' state. Times are microseconds since
-- the epoch; tags, event IDs, context, conditions and settings are JSON.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    rule_title   TEXT NOT NULL DEFAULT '',
    level        TEXT NOT NULL,
    level_rank   INTEGER NOT NULL,
    host         TEXT NOT NULL DEFAULT '',
    user_name    TEXT NOT NULL DEFAULT '',
    group_key    TEXT NOT NULL DEFAULT '',
    count        BIGINT NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    status       TEXT NOT NULL,
    assignee     TEXT NOT NULL DEFAULT '',
    close_reason TEXT NOT NULL DEFAULT '',
    created      BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    tags         TEXT NOT NULL,
    event_ids    TEXT NOT NULL,
    context      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_dedup ON alerts (tenant_id, kind, rule_id, group_key, last_seen);
CREATE INDEX alerts_tenant_seen ON alerts (tenant_id, last_seen);
CREATE INDEX alerts_seen ON alerts (last_seen);
CREATE INDEX alerts_tenant_status ON alerts (tenant_id, status, last_seen);

CREATE TABLE alert_exceptions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    host       TEXT NOT NULL DEFAULT '',
    user_name  TEXT NOT NULL DEFAULT '',
    conditions TEXT NOT NULL,
    reason     TEXT NOT NULL,
    owner      TEXT NOT NULL,
    expires    BIGINT NOT NULL DEFAULT 0,
    hits       BIGINT NOT NULL DEFAULT 0,
    last_hit   BIGINT NOT NULL DEFAULT 0,
    creator    TEXT NOT NULL,
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL
);
CREATE INDEX alert_exceptions_tenant ON alert_exceptions (tenant_id, created);

-- A rule set (global when tenant_id is empty) has numbered versions; each
-- import is a new version and the live one is named in rule_sets.
CREATE TABLE rule_sets (
    tenant_id TEXT NOT NULL DEFAULT '',
    name      TEXT NOT NULL,
    live      INTEGER NOT NULL,
    updated   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE rule_versions (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL DEFAULT '',
    name      TEXT NOT NULL,
    version   INTEGER NOT NULL,
    time      BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    source    TEXT NOT NULL DEFAULT '',
    rules     INTEGER NOT NULL,
    result    TEXT NOT NULL,
    UNIQUE (tenant_id, name, version)
);
CREATE TABLE rule_files (
    version_id TEXT NOT NULL,
    path       TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (version_id, path)
);
CREATE TABLE rules (
    version_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    rule_id    TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    level      TEXT NOT NULL DEFAULT '',
    level_rank INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    product    TEXT NOT NULL DEFAULT '',
    category   TEXT NOT NULL DEFAULT '',
    service    TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL,
    path       TEXT NOT NULL,
    PRIMARY KEY (version_id, seq)
);
CREATE INDEX rules_rule ON rules (version_id, rule_id);

CREATE TABLE rule_settings (
    tenant_id TEXT PRIMARY KEY,
    data      TEXT NOT NULL,
    updated   BIGINT NOT NULL
);

CREATE TABLE detect_state (
    tenant_id TEXT PRIMARY KEY,
    data      TEXT NOT NULL,
    updated   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE detect_state;
DROP TABLE rule_settings;
DROP TABLE rules;
DROP TABLE rule_files;
DROP TABLE rule_versions;
DROP TABLE rule_sets;
DROP TABLE alert_exceptions;
DROP TABLE alerts;
