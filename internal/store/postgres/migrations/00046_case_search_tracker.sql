-- +goose Up
-- SQLite's 00046_case_search_tracker.sql in PostgreSQL's words, without
-- the title index: PostgreSQL keeps searching titles with LOWER(title)
-- LIKE (pg_trgm is a contrib extension this schema does not require).
--
-- The tracker lists a tenant's unfinished tasks of open cases, those with
-- a due time first, by due time, severity of the case, update time: the
-- case's open flag and severity are copied onto its tasks (tracked is 1
-- for an unfinished task of an open case; due_order is due, or the largest
-- integer when there is none) in the transaction that changes the case or
-- the task, so that the tracker's task half is one index range in its
-- order instead of a join and a sort of every open task.
ALTER TABLE case_tasks ADD COLUMN tracked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_tasks ADD COLUMN case_severity_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_tasks ADD COLUMN due_order BIGINT NOT NULL DEFAULT 9223372036854775807;
UPDATE case_tasks SET
    tracked = COALESCE((SELECT c.open FROM cases c WHERE c.id = case_tasks.case_id), 0) * (CASE WHEN status IN ('open', 'in-progress') THEN 1 ELSE 0 END),
    case_severity_rank = COALESCE((SELECT c.severity_rank FROM cases c WHERE c.id = case_tasks.case_id), 0),
    due_order = CASE WHEN due = 0 THEN 9223372036854775807 ELSE due END;
CREATE INDEX case_tasks_tenant_tracked ON case_tasks (tenant_id, tracked, due_order, case_severity_rank DESC, updated DESC, id);
CREATE INDEX case_tasks_tracked ON case_tasks (tracked, due_order, case_severity_rank DESC, updated DESC, id);

-- +goose Down
DROP INDEX case_tasks_tracked;
DROP INDEX case_tasks_tenant_tracked;
ALTER TABLE case_tasks DROP COLUMN due_order;
ALTER TABLE case_tasks DROP COLUMN case_severity_rank;
ALTER TABLE case_tasks DROP COLUMN tracked;
