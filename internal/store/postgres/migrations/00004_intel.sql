-- +goose Up
-- SQLite's 00004_intel.sql in PostgreSQL's words (BIGINT microseconds for times).
-- Threat intelligence (internal/intel/service): indicators, unique by
-- tenant, type and value (intel.Indicator.Key), the whole indicator as
-- JSON in data and the fields that queries select on beside it; their
-- sightings; and the log of imports with each import's result as JSON.
CREATE TABLE intel_indicators (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    tlp         TEXT NOT NULL DEFAULT '',
    revoked     INTEGER NOT NULL DEFAULT 0,
    allowlisted TEXT NOT NULL DEFAULT '',
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    data        TEXT NOT NULL,
    UNIQUE (tenant_id, type, value)
);
CREATE INDEX intel_indicators_updated ON intel_indicators (tenant_id, updated);
CREATE INDEX intel_indicators_value ON intel_indicators (value);

CREATE TABLE intel_sightings (
    id           BIGSERIAL PRIMARY KEY,
    indicator_id TEXT NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    seen         BIGINT NOT NULL DEFAULT 0,
    count        INTEGER NOT NULL DEFAULT 0,
    ref          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX intel_sightings_indicator ON intel_sightings (indicator_id, id);

CREATE TABLE intel_imports (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL DEFAULT '',
    time      BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    source    TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL
);
CREATE INDEX intel_imports_tenant ON intel_imports (tenant_id, time);
CREATE INDEX intel_imports_time ON intel_imports (time);

-- +goose Down
DROP TABLE intel_imports;
DROP TABLE intel_sightings;
DROP TABLE intel_indicators;
