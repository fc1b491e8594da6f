-- +goose Up
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    time        INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    format      TEXT NOT NULL DEFAULT '',
    parse_error TEXT NOT NULL DEFAULT '',
    raw         BLOB NOT NULL,
    fields      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX events_id ON events (id);
CREATE INDEX events_tenant_time ON events (tenant_id, time);

-- The observable index: "every event that mentions X" is a range scan.
CREATE TABLE observables (
    tenant_id TEXT NOT NULL,
    value     TEXT NOT NULL,
    time      INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    type      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, value, time, seq)
) WITHOUT ROWID;
CREATE INDEX observables_seq ON observables (seq);

-- Free text over the raw events; contentless, so the text is stored once.
CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', contentless_delete=1, tokenize='unicode61');

-- +goose Down
DROP TABLE events_fts;
DROP TABLE observables;
DROP TABLE events;
