-- +goose Up
-- Audit filters by action prefix read an index range, not the whole log;
-- token lists order by (created, id) without a sort.
CREATE INDEX audit_action ON audit (action, id);
DROP INDEX tokens_created;
CREATE INDEX tokens_created ON tokens (created, id);
DROP INDEX tokens_tenant;
CREATE INDEX tokens_tenant ON tokens (tenant_id, created, id);

-- +goose Down
DROP INDEX audit_action;
DROP INDEX tokens_created;
CREATE INDEX tokens_created ON tokens (created);
DROP INDEX tokens_tenant;
CREATE INDEX tokens_tenant ON tokens (tenant_id, created);
