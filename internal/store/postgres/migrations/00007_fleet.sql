-- +goose Up
-- SQLite's 00007_fleet.sql in PostgreSQL's words (BIGINT microseconds, BYTEA).
-- Endpoint sweeps (internal/fleet). Assets are endpoints per tenant, one
-- per hostname and domain (host_key, lowercased); sweeps keep the sealed
-- upload as it came, so the stored result is exactly what the scanner
-- sent and stays encrypted at rest. Findings are copied out of each sweep
-- for the fleet views; latest = 1 marks those of the asset's newest sweep.
-- Prevalence: fleet_values interns each counted artifact under a 63-bit
-- hash (vid); fleet_artifacts holds the set of each asset's newest sweep;
-- fleet_prevalence counts assets per tenant and, under tenant '', across
-- all tenants, kept up to date as sweeps arrive so that the rarest-first
-- view reads an index instead of grouping millions of rows.
CREATE TABLE fleet_assets (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    host_key     TEXT NOT NULL,
    hostname     TEXT NOT NULL,
    domain       TEXT NOT NULL DEFAULT '',
    os           TEXT NOT NULL DEFAULT '',
    arch         TEXT NOT NULL DEFAULT '',
    product      TEXT NOT NULL DEFAULT '',
    version      TEXT NOT NULL DEFAULT '',
    ips          TEXT NOT NULL DEFAULT '[]',
    created      BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL DEFAULT 0,
    last_sweep   TEXT NOT NULL DEFAULT '',
    last_started BIGINT NOT NULL DEFAULT 0,
    sweeps       INTEGER NOT NULL DEFAULT 0,
    findings     INTEGER NOT NULL DEFAULT 0,
    max_score    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, host_key)
);
CREATE INDEX fleet_assets_host ON fleet_assets (tenant_id, hostname);
CREATE INDEX fleet_assets_seen ON fleet_assets (tenant_id, last_seen);

CREATE TABLE fleet_sweeps (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    hostname  TEXT NOT NULL,
    campaign  TEXT NOT NULL DEFAULT '',
    started   BIGINT NOT NULL,
    finished  BIGINT NOT NULL,
    received  BIGINT NOT NULL,
    scanner   TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL DEFAULT '',
    bytes     INTEGER NOT NULL,
    findings  INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    errors    INTEGER NOT NULL,
    sealed    BYTEA NOT NULL
);
CREATE INDEX fleet_sweeps_asset ON fleet_sweeps (asset_id, received);
CREATE INDEX fleet_sweeps_tenant ON fleet_sweeps (tenant_id, received);
CREATE INDEX fleet_sweeps_campaign ON fleet_sweeps (campaign, received);

CREATE TABLE fleet_findings (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    sweep_id  TEXT NOT NULL,
    hostname  TEXT NOT NULL,
    time      BIGINT NOT NULL,
    fkey      TEXT NOT NULL,
    score     INTEGER NOT NULL,
    latest    INTEGER NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX fleet_findings_latest ON fleet_findings (tenant_id, latest, score);
CREATE INDEX fleet_findings_asset ON fleet_findings (asset_id, latest);
CREATE INDEX fleet_findings_sweep ON fleet_findings (sweep_id);
CREATE INDEX fleet_findings_key ON fleet_findings (tenant_id, fkey);

CREATE TABLE fleet_values (
    vid   BIGINT PRIMARY KEY,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE fleet_artifacts (
    asset_id TEXT NOT NULL,
    vid      BIGINT NOT NULL,
    PRIMARY KEY (asset_id, vid)
);
CREATE INDEX fleet_artifacts_vid ON fleet_artifacts (vid, asset_id);

CREATE TABLE fleet_prevalence (
    tenant_id TEXT NOT NULL,
    vid       BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    assets    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, vid)
);
CREATE INDEX fleet_prevalence_rare ON fleet_prevalence (tenant_id, kind, assets);

CREATE TABLE fleet_reviews (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    fkey      TEXT NOT NULL,
    verdict   TEXT NOT NULL DEFAULT '',
    comment   TEXT NOT NULL DEFAULT '',
    actor     TEXT NOT NULL,
    time      BIGINT NOT NULL
);
CREATE INDEX fleet_reviews_key ON fleet_reviews (tenant_id, fkey, time);

CREATE TABLE fleet_verdicts (
    tenant_id TEXT NOT NULL,
    fkey      TEXT NOT NULL,
    verdict   TEXT NOT NULL,
    time      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, fkey)
);

CREATE TABLE fleet_campaigns (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    start     BIGINT NOT NULL,
    period    BIGINT NOT NULL DEFAULT 0,
    created   BIGINT NOT NULL,
    creator   TEXT NOT NULL
);
CREATE INDEX fleet_campaigns_tenant ON fleet_campaigns (tenant_id, created);

-- +goose Down
DROP TABLE fleet_campaigns;
DROP TABLE fleet_verdicts;
DROP TABLE fleet_reviews;
DROP TABLE fleet_prevalence;
DROP TABLE fleet_artifacts;
DROP TABLE fleet_values;
DROP TABLE fleet_findings;
DROP TABLE fleet_sweeps;
DROP TABLE fleet_assets;
