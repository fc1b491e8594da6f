-- +goose Up
-- One Bloom filter per closed epoch of event_observables (see
-- internal/store/sqlite/events_filter.go): a lookup seeks an epoch's rows
-- only for the keys its filter may hold. gen tells a rebuilt filter from
-- a cached one; crc (CRC-32C of filter) tells a damaged one, which is
-- built again.
CREATE TABLE event_filters (
    epoch  INTEGER PRIMARY KEY,
    gen    INTEGER NOT NULL,
    keys   INTEGER NOT NULL,
    crc    INTEGER NOT NULL,
    filter BLOB NOT NULL
);

-- +goose Down
DROP TABLE event_filters;
