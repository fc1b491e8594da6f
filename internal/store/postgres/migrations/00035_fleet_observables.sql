-- +goose Up
-- SQLite's 00035_fleet_observables.sql in PostgreSQL's words. value sorts
-- in byte order (COLLATE "C") so that a CIDR hunt's textual prefix
-- ("10.1.") is a range of the primary key whatever the database's
-- collation.
CREATE TABLE fleet_observables (
    tenant_id TEXT NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    time      BIGINT NOT NULL,
    sweep_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, sweep_id)
);

-- +goose Down
DROP TABLE fleet_observables;
