-- +goose Up
-- Events are stored in compressed blocks (see internal/store/sqlite/
-- events_block.go); the row-per-event tables of 00001 are renamed and
-- emptied into the new ones by OpenEvents, then dropped.
ALTER TABLE events RENAME TO events_v1;
ALTER TABLE observables RENAME TO observables_v1;
ALTER TABLE events_fts RENAME TO events_fts_v1;

-- Tenants as small integers, so that no index repeats a 36-byte UUID.
CREATE TABLE event_tenants (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- One row per block of up to 4096 events of one tenant written together
-- (see internal/store/sqlite/events_block.go).
CREATE TABLE event_blocks (
    id     INTEGER PRIMARY KEY,
    tenant INTEGER NOT NULL,
    tmin   INTEGER NOT NULL,  -- the earliest and latest event time, µs
    tmax   INTEGER NOT NULL,
    n      INTEGER NOT NULL,  -- events
    errors INTEGER NOT NULL,  -- events with a parse error
    times  BLOB NOT NULL      -- each event's time, varint differences
);
CREATE INDEX event_blocks_tenant_tmax ON event_blocks (tenant, tmax);
CREATE INDEX event_blocks_tmax ON event_blocks (tmax);

-- A block's events in chunks of 128, each column zstd-compressed; id is
-- the block's id << 6 | the chunk's number.
CREATE TABLE event_chunks (
    id   INTEGER PRIMARY KEY,
    raw  BLOB NOT NULL,  -- the raw records
    data BLOB NOT NULL   -- IDs, sources, formats, parse errors, fields, observables
);

-- Event IDs by their 64-bit hash (the next free value on a collision):
-- ref is the block's id << 16 | the event's position in it. It makes Put
-- idempotent and Event(id) one lookup.
CREATE TABLE event_ids (
    h   INTEGER PRIMARY KEY,
    ref INTEGER NOT NULL
);

-- The observable index: per block, the positions of the events that
-- mention a value. h hashes the tenant and the value, so a lookup is one
-- seek per tenant in scope and epoch (block id >> 6): new rows go into the
-- recent epoch's small part of the tree, not to a random page each.
CREATE TABLE event_observables (
    epoch INTEGER NOT NULL,
    h     INTEGER NOT NULL,
    block INTEGER NOT NULL,
    pos   BLOB NOT NULL,      -- varint differences of positions
    PRIMARY KEY (epoch, h, block)
) WITHOUT ROWID;

-- Free text: one document per chunk, its distinct words; rowid is the
-- chunk's id. Only which chunks hold a word is kept (detail=none); the
-- words are then checked in the raw records.
CREATE VIRTUAL TABLE event_text USING fts5(body, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 0');

-- +goose Down
DROP TABLE event_text;
DROP TABLE event_observables;
DROP TABLE event_ids;
DROP TABLE event_chunks;
DROP TABLE event_blocks;
DROP TABLE event_tenants;
ALTER TABLE events_fts_v1 RENAME TO events_fts;
ALTER TABLE observables_v1 RENAME TO observables;
ALTER TABLE events_v1 RENAME TO events;
