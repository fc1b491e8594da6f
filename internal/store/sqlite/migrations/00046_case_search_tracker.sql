-- +goose Up
-- Cases (internal/cases): the title search index and the tracker's columns
-- on tasks.
--
-- case_title_grams indexes every case title as its overlapping pairs of
-- characters after Unicode lower-casing, each pair written as the hex of
-- its UTF-8 bytes (one FTS5 token). A search for a text of two or more
-- characters is the FTS5 phrase of its pairs: consecutive tokens, so
-- exactly "the lower-cased title contains the lower-cased text", found
-- through the index instead of a LIKE over every title. Pairs rather than
-- FTS5's trigram tokenizer because Japanese searches are often two
-- characters (経理, 人事), which trigrams cannot find. The cases store
-- keeps it (sqlstore.TitleGrams); rowid is the case's rowid. The backfill
-- uses Tansa's LOWER (Go's strings.ToLower on Tansa's connections), as the
-- store does.
CREATE VIRTUAL TABLE case_title_grams USING fts5(case_id UNINDEXED, grams, tokenize = 'unicode61');
INSERT INTO case_title_grams (rowid, case_id, grams)
WITH RECURSIVE g(rid, id, t, i) AS (
    SELECT rowid, id, lower(title), 1 FROM cases
    UNION ALL
    SELECT rid, id, t, i + 1 FROM g WHERE i + 1 < length(t)
)
SELECT rid, id, group_concat(hex(substr(t, i, 2)), ' ' ORDER BY i) FROM g WHERE length(t) >= 2 GROUP BY rid;

-- The tracker lists a tenant's unfinished tasks of open cases, those with
-- a due time first, by due time, severity of the case, update time: the
-- case's open flag and severity are copied onto its tasks (tracked is 1
-- for an unfinished task of an open case; due_order is due, or the largest
-- integer when there is none) in the transaction that changes the case or
-- the task, so that the tracker's task half is one index range in its
-- order instead of a join and a sort of every open task.
ALTER TABLE case_tasks ADD COLUMN tracked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_tasks ADD COLUMN case_severity_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_tasks ADD COLUMN due_order INTEGER NOT NULL DEFAULT 9223372036854775807;
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
DROP TABLE case_title_grams;
