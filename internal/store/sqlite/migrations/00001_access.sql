-- +goose Up
CREATE TABLE tenants (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    country   TEXT NOT NULL DEFAULT '',
    language  TEXT NOT NULL DEFAULT 'en',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    contacts  TEXT NOT NULL DEFAULT '[]',
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    tenant_id     TEXT NOT NULL DEFAULT '',
    tenants       TEXT NOT NULL DEFAULT 'null',
    language      TEXT NOT NULL DEFAULT '',
    time_zone     TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0,
    last_login    INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id, username);

CREATE TABLE tokens (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL,
    tenant_id TEXT NOT NULL DEFAULT '',
    tenants   TEXT NOT NULL DEFAULT 'null',
    hash      TEXT NOT NULL UNIQUE,
    prefix    TEXT NOT NULL,
    created   INTEGER NOT NULL,
    creator   TEXT NOT NULL,
    last_used INTEGER NOT NULL DEFAULT 0,
    revoked   INTEGER NOT NULL DEFAULT 0,
    expires   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, created);
CREATE INDEX tokens_created ON tokens (created);

CREATE TABLE sessions (
    hash      TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    addr      TEXT NOT NULL DEFAULT '',
    tenant_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    tenant_id   TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL,
    addr        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   TEXT NOT NULL DEFAULT '',
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_tenant ON audit (tenant_id, id);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_object ON audit (object_id);

-- The audit log is append-only: the database itself refuses to change it.
-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit;
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE tenants;
