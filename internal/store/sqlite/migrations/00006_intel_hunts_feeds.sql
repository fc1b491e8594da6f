-- +goose Up
-- Retro-hunts (internal/intel/retro): one job per searched tenant, with the
-- indicators it hunts as a JSON list of indicator IDs, its progress, and
-- the hits it found (bounded per job; the job's hits column counts all).
CREATE TABLE intel_hunts (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    origin     TEXT NOT NULL,
    ref        TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    indicators TEXT NOT NULL,
    days       INTEGER NOT NULL,
    status     TEXT NOT NULL,
    total      INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    hits       INTEGER NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    created    INTEGER NOT NULL,
    started    INTEGER NOT NULL DEFAULT 0,
    finished   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX intel_hunts_tenant ON intel_hunts (tenant_id, created);
CREATE INDEX intel_hunts_status ON intel_hunts (status, created);

CREATE TABLE intel_hunt_hits (
    hunt_id      TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    value        TEXT NOT NULL,
    source       TEXT NOT NULL,
    ref          TEXT NOT NULL,
    time         INTEGER NOT NULL,
    PRIMARY KEY (hunt_id, indicator_id, source, ref)
);
CREATE INDEX intel_hunt_hits_indicator ON intel_hunt_hits (indicator_id, time);

-- Feeds pulled on a schedule (internal/intel/feeds): a TAXII collection, a
-- URL or a local file, per tenant ('' for global intelligence).
CREATE TABLE intel_feeds (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    format      TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL DEFAULT '',
    interval_s  INTEGER NOT NULL,
    flags       INTEGER NOT NULL DEFAULT 1, -- 1 enabled, 2 restricted (configured by a tenant: no private addresses)
    cursor      TEXT NOT NULL DEFAULT '',
    last_pull   INTEGER NOT NULL DEFAULT 0,
    last_status TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT '',
    last_result TEXT NOT NULL DEFAULT '',
    next_pull   INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL
);
CREATE INDEX intel_feeds_tenant ON intel_feeds (tenant_id, name);
CREATE INDEX intel_feeds_next ON intel_feeds (next_pull);

-- Per-tenant intelligence settings: how far back a retro-hunt searches.
CREATE TABLE intel_settings (
    tenant_id  TEXT PRIMARY KEY,
    retro_days INTEGER NOT NULL
);

-- +goose Down
DROP TABLE intel_settings;
DROP TABLE intel_feeds;
DROP TABLE intel_hunt_hits;
DROP TABLE intel_hunts;
