-- +goose Up
-- How long each tenant's events are kept, enforced by the server's retention job.
ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90;

-- +goose Down
ALTER TABLE tenants DROP COLUMN retention_days;
