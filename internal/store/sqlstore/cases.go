package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/cases"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ cases.Store = (*DB)(nil)

func severityRank(s string) int { return slices.Index(cases.Severities, s) }

// BreachAt is the breach_at column of c: Case.BreachAt in microseconds,
// NULL when no timer can breach. Every write of a case's row sets it, and
// every change of a deadline or a timer stop is such a write.
func BreachAt(c cases.Case) any {
	at, ok := c.BreachAt()
	if !ok {
		return nil
	}
	return at.UnixMicro()
}

// ApplyCase writes one change of a case in one transaction with its audit
// entries.
func (db *DB) ApplyCase(ctx context.Context, ch cases.Change) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		caseID := ch.Touch
		if c := ch.Case; c != nil {
			caseID = c.ID
			open := b2i(c.Open())
			if ch.Create {
				_, err := db.exec(ctx, tx, `INSERT INTO cases (id, tenant_id, title, description, severity, severity_rank, phase, open,
					resolution, type, assignee, assignee_name, reopened, acknowledged, contained, closed, ack_due, contain_due, close_due,
					creator, created, updated, version, breach_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					c.ID, c.TenantID, c.Title, c.Description, c.Severity, severityRank(c.Severity), string(c.Phase), open,
					string(c.Resolution), c.Type, c.Assignee, c.AssigneeName, c.Reopened, Micros(c.Acknowledged), Micros(c.Contained),
					Micros(c.Closed), Micros(c.AckDue), Micros(c.ContainDue), Micros(c.CloseDue), c.Creator, Micros(c.Created),
					Micros(c.Updated), c.Version, BreachAt(*c))
				if err != nil {
					return db.conflict(fmt.Errorf("insert case %s: %w", c.ID, err), "case %q exists", c.ID)
				}
			} else {
				res, err := db.exec(ctx, tx, `UPDATE cases SET title = ?, description = ?, severity = ?, severity_rank = ?, phase = ?,
					open = ?, resolution = ?, type = ?, assignee = ?, assignee_name = ?, reopened = ?, acknowledged = ?, contained = ?,
					closed = ?, ack_due = ?, contain_due = ?, close_due = ?, updated = ?, version = ?, breach_at = ? WHERE id = ? AND version = ?`,
					c.Title, c.Description, c.Severity, severityRank(c.Severity), string(c.Phase), open, string(c.Resolution), c.Type,
					c.Assignee, c.AssigneeName, c.Reopened, Micros(c.Acknowledged), Micros(c.Contained), Micros(c.Closed),
					Micros(c.AckDue), Micros(c.ContainDue), Micros(c.CloseDue), Micros(c.Updated), c.Version, BreachAt(*c), c.ID, c.Version-1)
				if err != nil {
					return fmt.Errorf("update case %s: %w", c.ID, err)
				}
				if n, err := res.RowsAffected(); err != nil || n != 1 {
					return tansa.Errorf(tansa.Conflict, "case %q changed meanwhile; reload it and try again", c.ID)
				}
				// The tracker's copy of the case on its tasks; only rows
				// that differ are written.
				if _, err := db.exec(ctx, tx, `UPDATE case_tasks SET tracked = CASE WHEN status IN ('open', 'in-progress') THEN ? ELSE 0 END,
					case_severity_rank = ? WHERE case_id = ? AND (case_severity_rank <> ? OR tracked <> CASE WHEN status IN ('open', 'in-progress') THEN ? ELSE 0 END)`,
					open, severityRank(c.Severity), c.ID, severityRank(c.Severity), open); err != nil {
					return fmt.Errorf("update tasks of case %s: %w", c.ID, err)
				}
			}
			if db.d.Name == "sqlite" {
				if err := db.indexTitle(ctx, tx, c, !ch.Create); err != nil {
					return err
				}
			}
		} else if ch.Touch != "" {
			if _, err := db.exec(ctx, tx, "UPDATE cases SET updated = ? WHERE id = ? AND updated < ?", Micros(ch.TouchAt), ch.Touch, Micros(ch.TouchAt)); err != nil {
				return fmt.Errorf("touch case %s: %w", ch.Touch, err)
			}
		}
		if len(ch.Alerts) > 0 {
			var pos int
			if err := tx.QueryRowContext(ctx, db.d.Q("SELECT COALESCE(MAX(position), 0) FROM case_alerts WHERE case_id = ?"), caseID).Scan(&pos); err != nil {
				return fmt.Errorf("alerts of case %s: %w", caseID, err)
			}
			var tenant string
			if err := tx.QueryRowContext(ctx, db.d.Q("SELECT tenant_id FROM cases WHERE id = ?"), caseID).Scan(&tenant); err != nil {
				return notFound(err, "case", caseID)
			}
			for _, a := range ch.Alerts {
				pos++
				if _, err := db.exec(ctx, tx, "INSERT INTO case_alerts (case_id, alert_id, tenant_id, position) VALUES (?, ?, ?, ?) ON CONFLICT (case_id, alert_id) DO NOTHING",
					caseID, a, tenant, pos); err != nil {
					return fmt.Errorf("link alert %s to case %s: %w", a, caseID, err)
				}
			}
		}
		type caseState struct{ open, rank int }
		caseStates := map[string]caseState{}
		if c := ch.Case; c != nil {
			caseStates[c.ID] = caseState{b2i(c.Open()), severityRank(c.Severity)}
		}
		for _, t := range ch.Tasks {
			cs, ok := caseStates[t.CaseID]
			if !ok {
				if err := tx.QueryRowContext(ctx, db.d.Q("SELECT open, severity_rank FROM cases WHERE id = ?"), t.CaseID).Scan(&cs.open, &cs.rank); err != nil {
					return notFound(err, "case", t.CaseID)
				}
				caseStates[t.CaseID] = cs
			}
			args := []any{t.CaseID, t.TenantID, t.Position, string(t.Phase), t.Title, t.Description, string(t.Status), t.Owner, t.OwnerName,
				Micros(t.Due), Micros(t.Completed), Micros(t.Created), Micros(t.Updated), TaskTracked(t, cs.open == 1), cs.rank, TaskDueOrder(t), t.ID}
			res, err := db.exec(ctx, tx, `UPDATE case_tasks SET case_id = ?, tenant_id = ?, position = ?, phase = ?, title = ?, description = ?,
				status = ?, owner = ?, owner_name = ?, due = ?, completed = ?, created = ?, updated = ?, tracked = ?, case_severity_rank = ?,
				due_order = ? WHERE id = ?`, args...)
			if err != nil {
				return fmt.Errorf("update task %s: %w", t.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if _, err := db.exec(ctx, tx, `INSERT INTO case_tasks (case_id, tenant_id, position, phase, title, description, status, owner,
					owner_name, due, completed, created, updated, tracked, case_severity_rank, due_order, id)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
					return fmt.Errorf("insert task %s: %w", t.ID, err)
				}
			}
		}
		for _, n := range ch.Notes {
			if _, err := db.exec(ctx, tx, "INSERT INTO case_notes (id, case_id, tenant_id, author, body, created) VALUES (?, ?, ?, ?, ?, ?)",
				n.ID, n.CaseID, n.TenantID, n.Author, n.Body, Micros(n.Created)); err != nil {
				return db.conflict(fmt.Errorf("insert note %s: %w", n.ID, err), "note %q exists", n.ID)
			}
		}
		for _, o := range ch.Observables {
			if _, err := db.exec(ctx, tx, `INSERT INTO case_observables (id, case_id, tenant_id, type, value, description, creator, created)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, o.ID, o.CaseID, o.TenantID, o.Type, o.Value, o.Description, o.Creator, Micros(o.Created)); err != nil {
				return db.conflict(fmt.Errorf("insert observable %s: %w", o.ID, err), "observable %s %q is already on the case", o.Type, o.Value)
			}
		}
		if e := ch.Evidence; e != nil {
			if _, err := db.exec(ctx, tx, `INSERT INTO case_evidence (id, case_id, tenant_id, name, content_type, size, sha256, description,
				uploader, uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.CaseID, e.TenantID, e.Name, e.ContentType, e.Size,
				e.SHA256, e.Description, e.Uploader, Micros(e.Uploaded)); err != nil {
				return fmt.Errorf("insert evidence %s: %w", e.ID, err)
			}
			if _, err := db.exec(ctx, tx, "INSERT INTO case_evidence_content (id, data) VALUES (?, ?)", e.ID, ch.Content); err != nil {
				return fmt.Errorf("store evidence %s: %w", e.ID, err)
			}
		}
		for _, e := range ch.Timeline {
			if _, err := db.exec(ctx, tx, "INSERT INTO case_timeline (case_id, tenant_id, time, actor, addr, kind, ref, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				e.CaseID, e.TenantID, Micros(e.Time), e.Actor, e.Addr, e.Kind, e.Ref, e.Text); err != nil {
				return fmt.Errorf("append timeline of %s: %w", e.CaseID, err)
			}
		}
		for _, a := range ch.Audit {
			if err := db.appendAudit(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// TaskTracked is the tracked column of task t of a case open or not: 1
// when the tracker lists it.
func TaskTracked(t cases.Task, caseOpen bool) int {
	return b2i(caseOpen && (t.Status == cases.TaskOpen || t.Status == cases.TaskInProgress))
}

// noDue sorts a task without a due time after every task with one.
const noDue = math.MaxInt64

// TaskDueOrder is the due_order column of t: its due time, or noDue.
func TaskDueOrder(t cases.Task) int64 {
	if t.Due.IsZero() {
		return noDue
	}
	return t.Due.UnixMicro()
}

// TitleGrams is what SQLite's title index (case_title_grams) holds for a
// title: its overlapping pairs of characters after lower-casing, each as
// the hex of its UTF-8 bytes, space-separated; empty for a title shorter
// than two characters. Migration 00046 computes the same in SQL.
func TitleGrams(title string) string {
	r := []rune(strings.ToLower(title))
	if len(r) < 2 {
		return ""
	}
	var b strings.Builder
	for i := 0; i+1 < len(r); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%X", string(r[i:i+2]))
	}
	return b.String()
}

// indexTitle puts c's title into SQLite's title index, replacing its
// earlier entry when replace is set.
func (db *DB) indexTitle(ctx context.Context, tx *sql.Tx, c *cases.Case, replace bool) error {
	if replace {
		if _, err := db.exec(ctx, tx, "DELETE FROM case_title_grams WHERE rowid = (SELECT rowid FROM cases WHERE id = ?)", c.ID); err != nil {
			return fmt.Errorf("index title of case %s: %w", c.ID, err)
		}
	}
	if g := TitleGrams(c.Title); g != "" {
		if _, err := db.exec(ctx, tx, "INSERT INTO case_title_grams (rowid, case_id, grams) SELECT rowid, id, ? FROM cases WHERE id = ?", g, c.ID); err != nil {
			return fmt.Errorf("index title of case %s: %w", c.ID, err)
		}
	}
	return nil
}

// titleMatch is the condition on cases for a title containing text: on
// SQLite a lookup in the title index when text has two characters or more
// (the FTS5 phrase of its pairs, which must be consecutive in the title),
// otherwise a LIKE over the titles.
func (db *DB) titleMatch(w *Where, text string) {
	if db.d.Name == "sqlite" {
		if g := TitleGrams(text); g != "" {
			w.Add(`rowid IN (SELECT rowid FROM case_title_grams WHERE grams MATCH ?)`, `"`+g+`"`)
			return
		}
	}
	w.Add(db.d.titleLike("title"), like(text))
}

const caseCols = `id, tenant_id, title, description, severity, phase, resolution, type, assignee, assignee_name, reopened,
	acknowledged, contained, closed, ack_due, contain_due, close_due, creator, created, updated, version`

func scanCase(row interface{ Scan(...any) error }) (cases.Case, error) {
	var c cases.Case
	var phase, res string
	var ack, cont, closed, ackDue, contDue, closeDue, created, updated int64
	err := row.Scan(&c.ID, &c.TenantID, &c.Title, &c.Description, &c.Severity, &phase, &res, &c.Type, &c.Assignee, &c.AssigneeName,
		&c.Reopened, &ack, &cont, &closed, &ackDue, &contDue, &closeDue, &c.Creator, &created, &updated, &c.Version)
	c.Phase, c.Resolution = cases.Phase(phase), cases.Resolution(res)
	c.Acknowledged, c.Contained, c.Closed = FromMicros(ack), FromMicros(cont), FromMicros(closed)
	c.AckDue, c.ContainDue, c.CloseDue = FromMicros(ackDue), FromMicros(contDue), FromMicros(closeDue)
	c.Created, c.Updated = FromMicros(created), FromMicros(updated)
	c.AlertIDs = []string{}
	return c, err
}

// Case returns case id with its linked alert IDs.
func (db *DB) Case(ctx context.Context, id string) (cases.Case, error) {
	c, err := scanCase(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+caseCols+" FROM cases WHERE id = ?"), id))
	if err != nil {
		return c, notFound(err, "case", id)
	}
	cs := []cases.Case{c}
	if err := db.caseAlerts(ctx, cs); err != nil {
		return c, err
	}
	return cs[0], nil
}

// caseAlerts fills in the linked alert IDs of cs.
func (db *DB) caseAlerts(ctx context.Context, cs []cases.Case) error {
	if len(cs) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(cs))
	for i, c := range cs {
		idx[c.ID] = i
		args[i] = c.ID
	}
	q := "SELECT case_id, alert_id FROM case_alerts WHERE case_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(cs)), ",") + ") ORDER BY case_id, position"
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), args...)
	if err != nil {
		return fmt.Errorf("case alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, a string
		if err := rows.Scan(&c, &a); err != nil {
			return fmt.Errorf("case alerts: %w", err)
		}
		cs[idx[c]].AlertIDs = append(cs[idx[c]].AlertIDs, a)
	}
	return rows.Err()
}

// breachedCond is true for a case with a timer past its deadline at the
// time given as its three arguments: a running timer runs until the case
// closes.
const breachedCond = `((ack_due > 0 AND COALESCE(NULLIF(acknowledged, 0), NULLIF(closed, 0), ?) > ack_due)
	OR (contain_due > 0 AND COALESCE(NULLIF(contained, 0), NULLIF(closed, 0), ?) > contain_due)
	OR (close_due > 0 AND COALESCE(NULLIF(closed, 0), ?) > close_due))`

var caseOrders = map[string]string{
	"-updated":  "updated DESC, id DESC",
	"updated":   "updated, id",
	"-created":  "created DESC, id DESC",
	"created":   "created, id",
	"-severity": "severity_rank DESC, updated DESC, id DESC",
	"severity":  "severity_rank, updated DESC, id DESC",
	"title":     "title, id",
	"-title":    "title DESC, id DESC",
}

// Cases lists matching cases.
func (db *DB) Cases(ctx context.Context, q cases.Query) ([]cases.Case, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.Phase != "" {
		w.Add("phase = ?", string(q.Phase))
	}
	switch q.State {
	case "open":
		w.Add("open = 1")
	case "closed":
		w.Add("open = 0")
	}
	if q.Severity != "" {
		w.Add("severity_rank = ?", severityRank(q.Severity))
	}
	switch q.Assignee {
	case "":
	case "none":
		w.Add("assignee = ''")
	default:
		w.Add("assignee = ?", q.Assignee)
	}
	if q.Type != "" {
		w.Add("type = ?", q.Type)
	}
	// dense holds, for a condition whose index finds few rows quickly, the
	// form that leaves the planner on the list order's index instead: when
	// the count shows that many rows match, walking the order's index and
	// testing each row reaches a page after a few hundred rows, where the
	// condition's own index would fetch and sort every match (29,890 SLA-
	// breached open cases, 14,286 titles with 経理, of 100k). SQLite plans
	// without statistics here; PostgreSQL chooses by its own.
	dense := map[int]string{}
	if q.Text != "" {
		db.titleMatch(&w, q.Text)
		if c := w.Conds[len(w.Conds)-1]; strings.HasPrefix(c, "rowid IN") {
			dense[len(w.Conds)-1] = "+" + c
		}
	}
	if q.AlertID != "" {
		w.Add("id IN (SELECT case_id FROM case_alerts WHERE alert_id = ?)", q.AlertID)
	}
	if !q.BreachedAt.IsZero() {
		// One index range (cases_breach, cases_tenant_breach) instead of
		// breachedCond on every row; the two agree for a time no earlier
		// than the cases' last change, which "now" always is.
		w.Add("breach_at < ?", Micros(q.BreachedAt))
		if db.d.Name == "sqlite" {
			dense[len(w.Conds)-1] = "+breach_at < ?"
		}
	}
	order, ok := caseOrders[q.Sort]
	if !ok {
		order = caseOrders["-updated"]
	}
	if len(w.Conds) == 1 && q.Text != "" && len(dense) == 1 {
		// The title alone: the index counts its matches without reading
		// the cases.
		w.CountSQL = "SELECT COUNT(*) FROM case_title_grams WHERE grams MATCH ?"
		w.CountArgs = w.Args
	}
	page := func(total int) *Where {
		if total < denseRows || len(dense) == 0 {
			return &w
		}
		pw := w
		pw.Conds = slices.Clone(w.Conds)
		for i, c := range dense {
			pw.Conds[i] = c
		}
		return &pw
	}
	cs, total, err := listPaged(ctx, db, caseCols, "cases", &w, page, order, q.Page, func(r *sql.Rows) (cases.Case, error) { return scanCase(r) })
	if err != nil {
		return nil, 0, err
	}
	return cs, total, db.caseAlerts(ctx, cs)
}

// denseRows is the count from which a list's page walks the order's index
// (see dense in Cases): below it, fetching and sorting the matches costs a
// few milliseconds at most.
const denseRows = 1000

const taskCols = "id, case_id, tenant_id, position, phase, title, description, status, owner, owner_name, due, completed, created, updated"

func scanTask(row interface{ Scan(...any) error }) (cases.Task, error) {
	var t cases.Task
	var phase, status string
	var due, completed, created, updated int64
	err := row.Scan(&t.ID, &t.CaseID, &t.TenantID, &t.Position, &phase, &t.Title, &t.Description, &status, &t.Owner, &t.OwnerName,
		&due, &completed, &created, &updated)
	t.Phase, t.Status = cases.Phase(phase), cases.TaskStatus(status)
	t.Due, t.Completed, t.Created, t.Updated = FromMicros(due), FromMicros(completed), FromMicros(created), FromMicros(updated)
	return t, err
}

// all runs q and scans every row.
func all[T any](ctx context.Context, db *DB, what, q string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Tasks returns a case's tasks in order.
func (db *DB) Tasks(ctx context.Context, caseID string) ([]cases.Task, error) {
	return all(ctx, db, "tasks of "+caseID, "SELECT "+taskCols+" FROM case_tasks WHERE case_id = ? ORDER BY position, id",
		func(r *sql.Rows) (cases.Task, error) { return scanTask(r) }, caseID)
}

// Task returns task id.
func (db *DB) Task(ctx context.Context, id string) (cases.Task, error) {
	t, err := scanTask(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+taskCols+" FROM case_tasks WHERE id = ?"), id))
	return t, notFound(err, "task", id)
}

// Notes returns a case's notes, oldest first.
func (db *DB) Notes(ctx context.Context, caseID string) ([]cases.Note, error) {
	return all(ctx, db, "notes of "+caseID, "SELECT id, case_id, tenant_id, author, body, created FROM case_notes WHERE case_id = ? ORDER BY created, id",
		func(r *sql.Rows) (cases.Note, error) {
			var n cases.Note
			var created int64
			err := r.Scan(&n.ID, &n.CaseID, &n.TenantID, &n.Author, &n.Body, &created)
			n.Created = FromMicros(created)
			return n, err
		}, caseID)
}

const observableCols = "id, case_id, tenant_id, type, value, description, creator, created"

func scanObservable(row interface{ Scan(...any) error }) (cases.Observable, error) {
	var o cases.Observable
	var created int64
	err := row.Scan(&o.ID, &o.CaseID, &o.TenantID, &o.Type, &o.Value, &o.Description, &o.Creator, &created)
	o.Created = FromMicros(created)
	return o, err
}

// Observables returns a case's observables, oldest first.
func (db *DB) Observables(ctx context.Context, caseID string) ([]cases.Observable, error) {
	return all(ctx, db, "observables of "+caseID, "SELECT "+observableCols+" FROM case_observables WHERE case_id = ? ORDER BY created, id",
		func(r *sql.Rows) (cases.Observable, error) { return scanObservable(r) }, caseID)
}

// Observable returns observable id.
func (db *DB) Observable(ctx context.Context, id string) (cases.Observable, error) {
	o, err := scanObservable(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+observableCols+" FROM case_observables WHERE id = ?"), id))
	return o, notFound(err, "observable", id)
}

const evidenceCols = "id, case_id, tenant_id, name, content_type, size, sha256, description, uploader, uploaded"

func scanEvidence(row interface{ Scan(...any) error }) (cases.Evidence, error) {
	var e cases.Evidence
	var up int64
	err := row.Scan(&e.ID, &e.CaseID, &e.TenantID, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.Description, &e.Uploader, &up)
	e.Uploaded = FromMicros(up)
	return e, err
}

// EvidenceList returns a case's evidence files, oldest first.
func (db *DB) EvidenceList(ctx context.Context, caseID string) ([]cases.Evidence, error) {
	return all(ctx, db, "evidence of "+caseID, "SELECT "+evidenceCols+" FROM case_evidence WHERE case_id = ? ORDER BY uploaded, id",
		func(r *sql.Rows) (cases.Evidence, error) { return scanEvidence(r) }, caseID)
}

// Evidence returns evidence id without its content.
func (db *DB) Evidence(ctx context.Context, id string) (cases.Evidence, error) {
	e, err := scanEvidence(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+evidenceCols+" FROM case_evidence WHERE id = ?"), id))
	return e, notFound(err, "evidence", id)
}

// EvidenceContent returns the bytes of evidence id.
func (db *DB) EvidenceContent(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT data FROM case_evidence_content WHERE id = ?"), id).Scan(&b)
	return b, notFound(err, "evidence", id)
}

// Timeline returns a case's timeline, oldest first.
func (db *DB) Timeline(ctx context.Context, caseID, ref string, p access.Page) ([]cases.Entry, int, error) {
	var w Where
	w.Add("case_id = ?", caseID)
	if ref != "" {
		w.Add("ref = ?", ref)
	}
	return list(ctx, db, "id, case_id, tenant_id, time, actor, addr, kind, ref, text", "case_timeline", &w, "id", p,
		func(r *sql.Rows) (cases.Entry, error) {
			var e cases.Entry
			var t int64
			err := r.Scan(&e.ID, &e.CaseID, &e.TenantID, &t, &e.Actor, &e.Addr, &e.Kind, &e.Ref, &e.Text)
			e.Time = FromMicros(t)
			return e, err
		})
}

// titleLike is the condition "col contains the text", ignoring case. On
// SQLite it is the built-in LIKE, which folds ASCII only, because Tansa's
// Unicode LOWER is a Go callback that costs about a microsecond a row (1 s
// over 100k titles); PostgreSQL's LOWER is native and folds everything.
func (d Dialect) titleLike(col string) string {
	if d.Name == "sqlite" {
		return col + ` LIKE ? ESCAPE '\'`
	}
	return "LOWER(" + col + `) LIKE ? ESCAPE '\'`
}

// trackerWhere returns the conditions of q on the tracker's case half
// (cases) and task half (case_tasks t).
func trackerWhere(d Dialect, q cases.TrackerQuery) (cw, tw Where) {
	cw.Add("open = 1")
	cw.Scope("tenant_id", q.Scope)
	tw.Add("t.tracked = 1")
	tw.Scope("t.tenant_id", q.Scope)
	switch q.Owner {
	case "":
	case "none":
		cw.Add("assignee = ''")
		tw.Add("t.owner = ''")
	default:
		cw.Add("assignee = ?", q.Owner)
		tw.Add("t.owner = ?", q.Owner)
	}
	if q.Status != "" {
		cw.Add("phase = ?", q.Status)
		tw.Add("t.status = ?", q.Status)
	}
	if q.Severity != "" {
		cw.Add("severity_rank = ?", severityRank(q.Severity))
		tw.Add("t.case_severity_rank = ?", severityRank(q.Severity))
	}
	if q.Text != "" {
		l := like(q.Text)
		cw.Add(d.titleLike("title"), l)
		tw.Add("("+d.titleLike("t.title")+" OR EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id AND "+d.titleLike("c.title")+"))", l, l)
	}
	if !q.OverdueAt.IsZero() {
		cw.Add("close_due > 0 AND close_due < ?", Micros(q.OverdueAt))
		tw.Add("t.due > 0 AND t.due < ?", Micros(q.OverdueAt))
	}
	return cw, tw
}

// Tracker lists open cases and their unfinished tasks. Every filter is
// applied inside each half of the union, the total is two counts, and each
// half returns only its first offset+limit rows in the tracker's order, so
// the final sort sees at most twice a page's worth. The task half reads
// the columns copied from the case onto its tasks (tracked,
// case_severity_rank, due_order): its count and its page are one range of
// case_tasks_tenant_tracked (case_tasks_tracked across tenants), and only
// the page's rows are joined to their cases.
func (db *DB) Tracker(ctx context.Context, q cases.TrackerQuery) ([]cases.TrackerRow, int, error) {
	cw, tw := trackerWhere(db.d, q)
	withCases, withTasks := q.Kind != "task", q.Kind != "case"
	var count []string
	var args []any
	if withCases {
		count = append(count, "(SELECT COUNT(*) FROM cases"+cw.String()+")")
		args = append(args, cw.Args...)
	}
	if withTasks {
		count = append(count, "(SELECT COUNT(*) FROM case_tasks t"+tw.String()+")")
		args = append(args, tw.Args...)
	}
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.Q("SELECT "+strings.Join(count, " + ")), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tracker: %w", err)
	}
	rows := []cases.TrackerRow{}
	if q.Limit <= 0 || q.Offset >= total {
		return rows, total, nil
	}
	n := q.Offset + q.Limit
	var parts []string
	args = nil
	if withCases {
		parts = append(parts, `SELECT * FROM (SELECT 'case' AS kind, id, id AS case_id, tenant_id, title, title AS case_title, assignee AS owner,
			assignee_name AS owner_name, close_due AS due, phase AS status, severity, severity_rank, updated FROM cases`+cw.String()+`
			ORDER BY CASE WHEN close_due = 0 THEN 1 ELSE 0 END, close_due, severity_rank DESC, updated DESC, id LIMIT ?) a`)
		args = append(append(args, cw.Args...), n)
	}
	if withTasks {
		parts = append(parts, `SELECT 'task' AS kind, b.id, b.case_id, b.tenant_id, b.title, c.title AS case_title, b.owner, b.owner_name, b.due,
			b.status, c.severity, b.case_severity_rank AS severity_rank, b.updated FROM (SELECT t.id, t.case_id, t.tenant_id, t.title, t.owner,
			t.owner_name, t.due, t.status, t.case_severity_rank, t.updated FROM case_tasks t`+tw.String()+`
			ORDER BY t.due_order, t.case_severity_rank DESC, t.updated DESC, t.id LIMIT ?) b JOIN cases c ON c.id = b.case_id`)
		args = append(append(args, tw.Args...), n)
	}
	query := "SELECT kind, id, case_id, tenant_id, title, case_title, owner, owner_name, due, status, severity, updated FROM (" +
		strings.Join(parts, " UNION ALL ") + ") x ORDER BY CASE WHEN due = 0 THEN 1 ELSE 0 END, due, severity_rank DESC, updated DESC, id LIMIT ? OFFSET ?"
	rs, err := db.r.QueryContext(ctx, db.d.Q(query), append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tracker: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		t, err := scanTrackerRow(rs)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, t)
	}
	return rows, total, rs.Err()
}

func scanTrackerRow(rs *sql.Rows) (cases.TrackerRow, error) {
	var t cases.TrackerRow
	var due, updated int64
	if err := rs.Scan(&t.Kind, &t.ID, &t.CaseID, &t.TenantID, &t.Title, &t.CaseTitle, &t.Owner, &t.OwnerName, &due, &t.Status, &t.Severity, &updated); err != nil {
		return t, fmt.Errorf("scan tracker: %w", err)
	}
	t.Due, t.Updated = FromMicros(due), FromMicros(updated)
	return t, nil
}

// EachTrackerRow streams every row q selects in the tracker's order: one
// query, one sort of the matching rows, no page limits, so that an export
// is complete however large the open work is.
func (db *DB) EachTrackerRow(ctx context.Context, q cases.TrackerQuery, fn func(cases.TrackerRow) error) error {
	cw, tw := trackerWhere(db.d, q)
	var parts []string
	var args []any
	if q.Kind != "task" {
		parts = append(parts, `SELECT 'case' AS kind, id, id AS case_id, tenant_id, title, title AS case_title, assignee AS owner,
			assignee_name AS owner_name, close_due AS due, phase AS status, severity, severity_rank, updated FROM cases`+cw.String())
		args = append(args, cw.Args...)
	}
	if q.Kind != "case" {
		parts = append(parts, `SELECT 'task' AS kind, t.id, t.case_id, t.tenant_id, t.title, c.title AS case_title, t.owner, t.owner_name, t.due,
			t.status, c.severity, t.case_severity_rank AS severity_rank, t.updated FROM case_tasks t JOIN cases c ON c.id = t.case_id`+tw.String())
		args = append(args, tw.Args...)
	}
	query := "SELECT kind, id, case_id, tenant_id, title, case_title, owner, owner_name, due, status, severity, updated FROM (" +
		strings.Join(parts, " UNION ALL ") + ") x ORDER BY CASE WHEN due = 0 THEN 1 ELSE 0 END, due, severity_rank DESC, updated DESC, id"
	rs, err := db.r.QueryContext(ctx, db.d.Q(query), args...)
	if err != nil {
		return fmt.Errorf("export tracker: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		t, err := scanTrackerRow(rs)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rs.Err()
}

// CaseTimes sums the timers of the selected cases.
func (db *DB) CaseTimes(ctx context.Context, q cases.TimesQuery) (cases.Times, error) {
	var w Where
	until := Micros(q.Until)
	w.Args = append(w.Args, until, until, until)
	w.Scope("tenant_id", q.Scope)
	w.Add("created >= ? AND created < ?", Micros(q.Since), until)
	sum := func(cond, v string) string {
		return "CAST(COALESCE(SUM(CASE WHEN " + cond + " THEN " + v + " ELSE 0 END), 0) AS BIGINT)"
	}
	query := "SELECT COUNT(*), " + sum("acknowledged > 0", "1") + ", " + sum("acknowledged > 0", "acknowledged - created") + ", " +
		sum("contained > 0", "1") + ", " + sum("contained > 0", "contained - created") + ", " +
		sum("closed > 0", "1") + ", " + sum("closed > 0", "closed - created") + ", " +
		sum(breachedCond, "1") + " FROM cases" + w.String()
	var t cases.Times
	var ack, cont, closed int64
	err := db.r.QueryRowContext(ctx, db.d.Q(query), w.Args...).Scan(&t.Cases, &t.Acknowledged, &ack, &t.Contained, &cont, &t.Closed, &closed, &t.Breached)
	if err != nil {
		return t, fmt.Errorf("case times: %w", err)
	}
	t.AckTotal, t.ContainTotal, t.CloseTotal = time.Duration(ack)*time.Microsecond, time.Duration(cont)*time.Microsecond, time.Duration(closed)*time.Microsecond
	return t, nil
}

// CaseTemplates returns a tenant's own templates, by type.
func (db *DB) CaseTemplates(ctx context.Context, tenant string) ([]cases.Template, error) {
	return all(ctx, db, "case templates of "+tenant, "SELECT tenant_id, data FROM case_templates WHERE tenant_id = ? ORDER BY type",
		func(r *sql.Rows) (cases.Template, error) {
			var t cases.Template
			var tid, data string
			if err := r.Scan(&tid, &data); err != nil {
				return t, err
			}
			if err := json.Unmarshal([]byte(data), &t); err != nil {
				return t, fmt.Errorf("stored template: %w", err)
			}
			t.TenantID = tid
			return t, nil
		}, tenant)
}

// PutCaseTemplate stores a tenant's version of a template.
func (db *DB) PutCaseTemplate(ctx context.Context, t cases.Template, at time.Time, a tansa.AuditEntry) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO case_templates (tenant_id, type, data, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, type) DO UPDATE SET data = excluded.data, updated = excluded.updated`,
			t.TenantID, t.Type, string(data), Micros(at)); err != nil {
			return fmt.Errorf("put template %s: %w", t.Type, err)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// DeleteCaseTemplate removes a tenant's version of a template.
func (db *DB) DeleteCaseTemplate(ctx context.Context, tenant, typ string, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "DELETE FROM case_templates WHERE tenant_id = ? AND type = ?", tenant, typ)
		if err != nil {
			return fmt.Errorf("delete template %s: %w", typ, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "template %q not found", typ)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// SLA returns a tenant's stored targets.
func (db *DB) SLA(ctx context.Context, tenant string) ([]cases.SLATarget, error) {
	return all(ctx, db, "SLA of "+tenant, "SELECT severity, ack_seconds, contain_seconds, close_seconds FROM case_sla WHERE tenant_id = ?",
		func(r *sql.Rows) (cases.SLATarget, error) {
			var t cases.SLATarget
			var a, c, cl int64
			err := r.Scan(&t.Severity, &a, &c, &cl)
			t.Acknowledge, t.Contain, t.Close = time.Duration(a)*time.Second, time.Duration(c)*time.Second, time.Duration(cl)*time.Second
			return t, err
		}, tenant)
}

// PutSLA replaces a tenant's targets.
func (db *DB) PutSLA(ctx context.Context, tenant string, ts []cases.SLATarget, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "DELETE FROM case_sla WHERE tenant_id = ?", tenant); err != nil {
			return fmt.Errorf("replace SLA of %s: %w", tenant, err)
		}
		for _, t := range ts {
			if _, err := db.exec(ctx, tx, "INSERT INTO case_sla (tenant_id, severity, ack_seconds, contain_seconds, close_seconds) VALUES (?, ?, ?, ?, ?)",
				tenant, t.Severity, int64(t.Acknowledge/time.Second), int64(t.Contain/time.Second), int64(t.Close/time.Second)); err != nil {
				return fmt.Errorf("replace SLA of %s: %w", tenant, err)
			}
		}
		return db.appendAudit(ctx, tx, a)
	})
}
