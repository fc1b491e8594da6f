-- +goose Up
-- Cases (internal/cases): breach_at is the time from which a case counts
-- as breached (Case.BreachAt): the earliest deadline of a timer still
-- running, 0 when a timer already stopped past its deadline, NULL when no
-- timer can breach. The cases store sets it on every write of the row, so
-- "SLA breached" is the index range breach_at < now instead of comparing
-- three deadlines with three timer stops on every open case. open leads
-- the indexes because the lists show open cases by default.
ALTER TABLE cases ADD COLUMN breach_at INTEGER;
UPDATE cases SET breach_at = (
    SELECT MIN(v) FROM (
        SELECT CASE WHEN s IS NULL THEN d WHEN s > d THEN 0 END AS v FROM (
            SELECT cases.ack_due AS d, COALESCE(NULLIF(cases.acknowledged, 0), CASE WHEN cases.open = 0 THEN NULLIF(cases.closed, 0) END) AS s
            UNION ALL
            SELECT cases.contain_due, COALESCE(NULLIF(cases.contained, 0), CASE WHEN cases.open = 0 THEN NULLIF(cases.closed, 0) END)
            UNION ALL
            SELECT cases.close_due, CASE WHEN cases.open = 0 THEN NULLIF(cases.closed, 0) END
        ) WHERE d > 0
    )
);
CREATE INDEX cases_tenant_breach ON cases (tenant_id, open, breach_at);
CREATE INDEX cases_breach ON cases (open, breach_at);

-- +goose Down
DROP INDEX cases_breach;
DROP INDEX cases_tenant_breach;
ALTER TABLE cases DROP COLUMN breach_at;
