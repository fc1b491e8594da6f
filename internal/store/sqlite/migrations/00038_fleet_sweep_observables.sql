-- +goose Up
-- The retro-hunt observables of a sweep become one row per sweep (vals:
-- its distinct values, one per line, in the normal form 00035 describes),
-- read in (tenant, time) order by a hunt, instead of one row per value in
-- a B-tree keyed by the value. A sweep has about two hundred values, most
-- of them its own (downloaded files' hashes, remote addresses), so each
-- went to a random page of a tree that outgrows the page cache: a tenth of
-- ingest's CPU and most of the pages each commit wrote. A hunt now reads
-- the tenant's sweeps in its look-back window, newest first, and matches
-- the values in memory.
CREATE TABLE fleet_sweep_observables (
    tenant_id TEXT NOT NULL,
    time      INTEGER NOT NULL,
    sweep_id  TEXT NOT NULL,
    vals      TEXT NOT NULL
);
CREATE INDEX fleet_sweep_observables_time ON fleet_sweep_observables (tenant_id, time, sweep_id);
INSERT INTO fleet_sweep_observables (tenant_id, time, sweep_id, vals)
    SELECT tenant_id, time, sweep_id, group_concat(value, char(10)) FROM fleet_observables GROUP BY tenant_id, time, sweep_id;
DROP TABLE fleet_observables;

-- +goose Down
CREATE TABLE fleet_observables (
    tenant_id TEXT NOT NULL,
    value     TEXT NOT NULL,
    time      INTEGER NOT NULL,
    sweep_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, sweep_id)
) WITHOUT ROWID;
WITH RECURSIVE split (tenant_id, time, sweep_id, value, rest) AS (
    SELECT tenant_id, time, sweep_id, '', vals || char(10) FROM fleet_sweep_observables
    UNION ALL
    SELECT tenant_id, time, sweep_id, substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1)
    FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO fleet_observables (tenant_id, value, time, sweep_id)
    SELECT tenant_id, value, time, sweep_id FROM split WHERE value <> '';
DROP TABLE fleet_sweep_observables;
