-- +goose Up
-- Searches across all of a provider's tenants have no tenant condition;
-- this index serves their time range and their newest-first order.
CREATE INDEX events_time ON events (time);

-- +goose Down
DROP INDEX events_time;
