-- +goose Up
-- SQLite's 00037_fleet_prevalence_rare.sql in PostgreSQL's words.
-- The rarest-first index of the prevalence counts keeps only the
-- across-tenant counts (tenant ''). Every sweep moves a few hundred of its
-- tenant's counts, and each move also moved an entry of this index: a
-- fifth of ingest's database work. One tenant's counts are a range of the
-- primary key (a few thousand rows for a tenant of hundreds of endpoints),
-- which the view sorts for its page; the fleet-wide counts, hundreds of
-- thousands of rows of which a batch moves few, keep their index.
DROP INDEX fleet_prevalence_rare;
CREATE INDEX fleet_prevalence_rare ON fleet_prevalence (tenant_id, kind, assets) WHERE tenant_id = '';

-- +goose Down
DROP INDEX fleet_prevalence_rare;
CREATE INDEX fleet_prevalence_rare ON fleet_prevalence (tenant_id, kind, assets);
