-- +goose Up
-- The event store of internal/store/sqlite/events_migrations in PostgreSQL's
-- words, for many millions of events: events and observables are
-- partitioned by day on time (BIGINT microseconds), and the partitions are
-- created by the store before it inserts into a new day (events.go,
-- ensurePartitions); these are only the parents, whose indexes every
-- partition inherits.

-- seq numbers events across partitions: the observables point at it, and
-- it breaks ties between events of the same microsecond.
CREATE SEQUENCE events_seq;

-- event_ids makes Put idempotent by ID. A unique index on a partitioned
-- table must contain the partition key, so (id, time) could not stop a
-- redelivered event from being stored twice when its time differs between
-- deliveries (an event without a time of its own takes Received). This
-- table is the global index PostgreSQL lacks: one row per stored event,
-- which also finds an event by ID without searching every partition.
CREATE TABLE event_ids (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    time      BIGINT NOT NULL,
    seq       BIGINT NOT NULL DEFAULT nextval('events_seq')
);
ALTER SEQUENCE events_seq OWNED BY event_ids.seq;

CREATE TABLE events (
    tenant_id   TEXT NOT NULL,
    time        BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL,
    received    BIGINT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    format      TEXT NOT NULL DEFAULT '',
    parse_error TEXT NOT NULL DEFAULT '',
    raw         BYTEA NOT NULL,
    fields      JSONB NOT NULL DEFAULT '{}',
    -- The words of raw as SQLite's unicode61 tokenizer cuts them, cut by
    -- the store (events.go, document) and never stemmed. It is stored, not
    -- GENERATED from raw: raw is bytes kept exactly as received, which
    -- need not be UTF-8, and PostgreSQL's parser would keep URLs, hosts
    -- and paths whole, so "pay*" would not find
    -- "http://evil.example/payload.exe".
    search      TSVECTOR NOT NULL,
    PRIMARY KEY (tenant_id, time, seq)
) PARTITION BY RANGE (time);
CREATE INDEX events_search ON events USING GIN (search);
CREATE INDEX events_parse_errors ON events (tenant_id, time) WHERE parse_error <> '';

-- The observable index: "every event that mentions X" is a range scan.
CREATE TABLE observables (
    tenant_id TEXT NOT NULL,
    value     TEXT NOT NULL,
    time      BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    type      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, seq)
) PARTITION BY RANGE (time);
-- Retention deletes a tenant's observables by time window; rows arrive
-- roughly in time order, so a BRIN index finds the window's blocks at
-- almost no cost to ingest, where a second B-tree would cost one more
-- insert per observable.
CREATE INDEX observables_time ON observables USING BRIN (time);

-- +goose Down
DROP TABLE observables;
DROP TABLE events;
DROP TABLE event_ids;
