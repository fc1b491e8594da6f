-- +goose Up
-- The observables of every stored sweep, for retro-hunts (internal/intel/
-- retro, Options.Sweeps): the SHA-256 of process executables and recorded
-- files, remote addresses of connections, and names and addresses from
-- the DNS cache and hosts file, each in the form the event observable
-- index uses (lower-case hex, canonical IP text, lower-case names), once
-- per sweep. A hunt reads one range of (tenant, value, time) per value,
-- newest first, so it never opens a sealed result.
CREATE TABLE fleet_observables (
    tenant_id TEXT NOT NULL,
    value     TEXT NOT NULL,
    time      INTEGER NOT NULL,
    sweep_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, sweep_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE fleet_observables;
