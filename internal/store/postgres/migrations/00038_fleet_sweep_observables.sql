-- +goose Up
-- SQLite's 00038_fleet_sweep_observables.sql in PostgreSQL's words: one
-- row per sweep with its observables one per line, read by a hunt in
-- (tenant, time) order, instead of one row per value.
CREATE TABLE fleet_sweep_observables (
    tenant_id TEXT NOT NULL,
    time      BIGINT NOT NULL,
    sweep_id  TEXT COLLATE "C" NOT NULL,
    vals      TEXT NOT NULL
);
CREATE INDEX fleet_sweep_observables_time ON fleet_sweep_observables (tenant_id, time, sweep_id);
INSERT INTO fleet_sweep_observables (tenant_id, time, sweep_id, vals)
    SELECT tenant_id, time, sweep_id, string_agg(value, E'\n') FROM fleet_observables GROUP BY tenant_id, time, sweep_id;
DROP TABLE fleet_observables;

-- +goose Down
CREATE TABLE fleet_observables (
    tenant_id TEXT NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    time      BIGINT NOT NULL,
    sweep_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, sweep_id)
);
INSERT INTO fleet_observables (tenant_id, value, time, sweep_id)
    SELECT DISTINCT tenant_id, v, time, sweep_id FROM fleet_sweep_observables, unnest(string_to_array(vals, E'\n')) AS v WHERE v <> '';
DROP TABLE fleet_sweep_observables;
