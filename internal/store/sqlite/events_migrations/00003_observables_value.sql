-- +goose Up
-- "Every event that mentions X" across all of a provider's tenants has no
-- tenant condition; this index makes it a range scan too.
CREATE INDEX observables_value ON observables (value, time, seq);

-- +goose Down
DROP INDEX observables_value;
