-- +goose Up
-- Each asset's artifact set becomes one row (fleet_artsets: the artifacts'
-- vids in hexadecimal, comma-separated), read and rewritten whole when a
-- newer sweep replaces it, and fleet_artifacts keeps only what the views
-- need from it: which assets hold an artifact, keyed (vid, asset_id).
-- Before, every artifact of every sweep was a row in two B-trees, one of
-- them at a random place: most of what ingest wrote.
CREATE TABLE fleet_artsets (
    asset_id TEXT PRIMARY KEY,
    vids     TEXT NOT NULL
);
INSERT INTO fleet_artsets (asset_id, vids)
    SELECT asset_id, group_concat(printf('%x', vid), ',') FROM fleet_artifacts GROUP BY asset_id;

CREATE TABLE fleet_holders (
    vid      INTEGER NOT NULL,
    asset_id TEXT NOT NULL,
    PRIMARY KEY (vid, asset_id)
) WITHOUT ROWID;
INSERT INTO fleet_holders (vid, asset_id) SELECT vid, asset_id FROM fleet_artifacts;
DROP TABLE fleet_artifacts;
ALTER TABLE fleet_holders RENAME TO fleet_artifacts;

-- +goose Down
CREATE TABLE fleet_artifacts_old (
    asset_id TEXT NOT NULL,
    vid      INTEGER NOT NULL,
    PRIMARY KEY (asset_id, vid)
) WITHOUT ROWID;
INSERT INTO fleet_artifacts_old (asset_id, vid) SELECT asset_id, vid FROM fleet_artifacts;
DROP TABLE fleet_artifacts;
ALTER TABLE fleet_artifacts_old RENAME TO fleet_artifacts;
CREATE INDEX fleet_artifacts_vid ON fleet_artifacts (vid, asset_id);
DROP TABLE fleet_artsets;
