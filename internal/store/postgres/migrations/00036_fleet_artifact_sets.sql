-- +goose Up
-- SQLite's 00036_fleet_artifact_sets.sql in PostgreSQL's words: each
-- asset's artifact set is one row (vids in hexadecimal, comma-separated)
-- and fleet_artifacts keeps only which assets hold an artifact, keyed
-- (vid, asset_id).
CREATE TABLE fleet_artsets (
    asset_id TEXT PRIMARY KEY,
    vids     TEXT NOT NULL
);
INSERT INTO fleet_artsets (asset_id, vids)
    SELECT asset_id, string_agg(to_hex(vid), ',') FROM fleet_artifacts GROUP BY asset_id;

CREATE TABLE fleet_holders (
    vid      BIGINT NOT NULL,
    asset_id TEXT NOT NULL,
    PRIMARY KEY (vid, asset_id)
);
INSERT INTO fleet_holders (vid, asset_id) SELECT vid, asset_id FROM fleet_artifacts;
DROP TABLE fleet_artifacts;
ALTER TABLE fleet_holders RENAME TO fleet_artifacts;
ALTER TABLE fleet_artifacts RENAME CONSTRAINT fleet_holders_pkey TO fleet_artifacts_pkey;

-- +goose Down
CREATE TABLE fleet_artifacts_old (
    asset_id TEXT NOT NULL,
    vid      BIGINT NOT NULL,
    PRIMARY KEY (asset_id, vid)
);
INSERT INTO fleet_artifacts_old (asset_id, vid) SELECT asset_id, vid FROM fleet_artifacts;
DROP TABLE fleet_artifacts;
ALTER TABLE fleet_artifacts_old RENAME TO fleet_artifacts;
ALTER TABLE fleet_artifacts RENAME CONSTRAINT fleet_artifacts_old_pkey TO fleet_artifacts_pkey;
CREATE INDEX fleet_artifacts_vid ON fleet_artifacts (vid, asset_id);
DROP TABLE fleet_artsets;
