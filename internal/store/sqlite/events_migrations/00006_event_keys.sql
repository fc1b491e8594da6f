-- +goose Up
-- The keys of each data chunk (see internal/store/sqlite/events_keys.go):
-- its events' IDs and observables, zstd, under the chunk's id. A
-- retro-hunt reads these instead of the chunk's data, which holds every
-- field and is stored behind the raw records: one small row instead of
-- a few overflow pages and a large decode per hit. Chunks stored before
-- this table have no row here and are read from event_chunks.data.
CREATE TABLE event_keys (
    id   INTEGER PRIMARY KEY,
    keys BLOB NOT NULL
);

-- +goose Down
DROP TABLE event_keys;
