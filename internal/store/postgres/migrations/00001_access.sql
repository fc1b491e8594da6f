-- +goose Up
-- The schema is SQLite's (internal/store/sqlite/migrations) in PostgreSQL's
-- words: BIGINT microseconds for times, INTEGER for booleans, TEXT for JSON.
CREATE TABLE tenants (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    country   TEXT NOT NULL DEFAULT '',
    language  TEXT NOT NULL DEFAULT 'en',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    contacts  TEXT NOT NULL DEFAULT '[]',
    created   BIGINT NOT NULL,
    updated   BIGINT NOT NULL
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
    locked_until  BIGINT NOT NULL DEFAULT 0,
    last_login    BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL,
    updated       BIGINT NOT NULL
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
    created   BIGINT NOT NULL,
    creator   TEXT NOT NULL,
    last_used BIGINT NOT NULL DEFAULT 0,
    revoked   BIGINT NOT NULL DEFAULT 0,
    expires   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, created);
CREATE INDEX tokens_created ON tokens (created);

CREATE TABLE sessions (
    hash      TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL,
    created   BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    addr      TEXT NOT NULL DEFAULT '',
    tenant_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        BIGINT NOT NULL,
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

-- The audit log is append-only: the database itself refuses to change it,
-- row by row (UPDATE, DELETE) and wholesale (TRUNCATE).
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit;
DROP FUNCTION audit_append_only();
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE tenants;
