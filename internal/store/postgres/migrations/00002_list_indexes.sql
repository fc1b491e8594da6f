-- +goose Up
-- Audit filters by action prefix read an index range, not the whole log.
-- Actions compare byte-wise (COLLATE "C") so that the range is the prefix
-- on every server locale, as on SQLite. Token lists order by (created, id)
-- without a sort.
ALTER TABLE audit ALTER COLUMN action TYPE TEXT COLLATE "C";
CREATE INDEX audit_action ON audit (action, id);
DROP INDEX tokens_created;
CREATE INDEX tokens_created ON tokens (created, id);
DROP INDEX tokens_tenant;
CREATE INDEX tokens_tenant ON tokens (tenant_id, created, id);

-- +goose Down
DROP INDEX audit_action;
ALTER TABLE audit ALTER COLUMN action TYPE TEXT;
DROP INDEX tokens_created;
CREATE INDEX tokens_created ON tokens (created);
DROP INDEX tokens_tenant;
CREATE INDEX tokens_tenant ON tokens (tenant_id, created);
