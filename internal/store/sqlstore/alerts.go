package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tansa-sec/tansa/internal/alert"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ alert.Store = (*DB)(nil)

const alertCols = "id, tenant_id, kind, rule_id, rule_title, level, host, user_name, group_key, count, first_seen, last_seen, status, assignee, close_reason, created, updated, tags, event_ids, context"

func scanAlert(row interface{ Scan(...any) error }) (tansa.Alert, error) {
	var a tansa.Alert
	var first, last, created, updated int64
	var tags, evs, ctxText, kind, status string
	if err := row.Scan(&a.ID, &a.TenantID, &kind, &a.RuleID, &a.RuleTitle, &a.Level, &a.Host, &a.User, &a.GroupKey, &a.Count,
		&first, &last, &status, &a.Assignee, &a.CloseReason, &created, &updated, &tags, &evs, &ctxText); err != nil {
		return a, err
	}
	a.Kind, a.Status = tansa.AlertKind(kind), tansa.AlertStatus(status)
	a.FirstSeen, a.LastSeen, a.Created, a.Updated = FromMicros(first), FromMicros(last), FromMicros(created), FromMicros(updated)
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("alert %s tags: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(evs), &a.EventIDs); err != nil {
		return a, fmt.Errorf("alert %s event IDs: %w", a.ID, err)
	}
	if ctxText != "" {
		a.Context = json.RawMessage(ctxText)
	}
	return a, nil
}

func (db *DB) insertAlert(ctx context.Context, tx *sql.Tx, a tansa.Alert) error {
	_, err := db.exec(ctx, tx, "INSERT INTO alerts ("+alertCols+", level_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.TenantID, string(a.Kind), a.RuleID, a.RuleTitle, a.Level, a.Host, a.User, a.GroupKey, a.Count,
		Micros(a.FirstSeen), Micros(a.LastSeen), string(a.Status), a.Assignee, a.CloseReason, Micros(a.Created), Micros(a.Updated),
		jsonText(a.Tags), jsonText(a.EventIDs), string(a.Context), tansa.LevelRank(a.Level))
	if err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return nil
}

// Merge stores matches, each merged into an open alert of its key within
// the window or inserted.
func (db *DB) Merge(ctx context.Context, in []tansa.Alert, opt alert.MergeOptions) ([]alert.Change, error) {
	var out []alert.Change
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		touched := map[string]int{} // alert ID → index in out
		for _, a := range in {
			w := int64(opt.Window / 1000)
			row := tx.QueryRowContext(ctx, db.d.Q("SELECT "+alertCols+" FROM alerts WHERE tenant_id = ? AND kind = ? AND rule_id = ? AND group_key = ? AND status <> 'closed' AND last_seen >= ? AND first_seen <= ? ORDER BY last_seen DESC LIMIT 1"+db.d.forUpdate()),
				a.TenantID, string(a.Kind), a.RuleID, a.GroupKey, Micros(a.FirstSeen)-w, Micros(a.FirstSeen)+w)
			cur, err := scanAlert(row)
			if err == sql.ErrNoRows {
				if err := db.insertAlert(ctx, tx, a); err != nil {
					return err
				}
				touched[a.ID] = len(out)
				out = append(out, alert.Change{Alert: a, New: true})
				continue
			}
			if err != nil {
				return fmt.Errorf("find alert to merge: %w", err)
			}
			cur.Count += a.Count
			if a.FirstSeen.Before(cur.FirstSeen) {
				cur.FirstSeen = a.FirstSeen
			}
			if a.LastSeen.After(cur.LastSeen) {
				cur.LastSeen = a.LastSeen
				if len(a.Context) > 0 {
					cur.Context = a.Context
				}
			}
			for _, id := range a.EventIDs {
				if len(cur.EventIDs) >= opt.MaxEvents {
					break
				}
				if !slices.Contains(cur.EventIDs, id) {
					cur.EventIDs = append(cur.EventIDs, id)
				}
			}
			cur.Updated = opt.Now
			if _, err := db.exec(ctx, tx, "UPDATE alerts SET count = ?, first_seen = ?, last_seen = ?, event_ids = ?, context = ?, updated = ? WHERE id = ?",
				cur.Count, Micros(cur.FirstSeen), Micros(cur.LastSeen), jsonText(cur.EventIDs), string(cur.Context), Micros(cur.Updated), cur.ID); err != nil {
				return fmt.Errorf("merge alert %s: %w", cur.ID, err)
			}
			if i, ok := touched[cur.ID]; ok {
				out[i].Alert = cur
			} else {
				touched[cur.ID] = len(out)
				out = append(out, alert.Change{Alert: cur})
			}
		}
		return nil
	})
	return out, err
}

// Alert returns alert id.
func (db *DB) Alert(ctx context.Context, id string) (tansa.Alert, error) {
	a, err := scanAlert(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+alertCols+" FROM alerts WHERE id = ?"), id))
	return a, notFound(err, "alert", id)
}

// Alerts lists alerts in q's order.
func (db *DB) Alerts(ctx context.Context, q alert.Query) ([]tansa.Alert, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if len(q.Status) > 0 {
		args := make([]any, len(q.Status))
		for i, s := range q.Status {
			args[i] = string(s)
		}
		w.Add("status IN "+inList(len(args)), args...)
	}
	if q.MinLevel != "" {
		w.Add("level_rank >= ?", tansa.LevelRank(q.MinLevel))
	}
	if q.Level != "" {
		w.Add("level = ?", q.Level)
	}
	if q.Kind != "" {
		w.Add("kind = ?", string(q.Kind))
	}
	if q.RuleID != "" {
		w.Add("rule_id = ?", q.RuleID)
	}
	if q.Host != "" {
		w.Add("LOWER(host) = ?", strings.ToLower(q.Host))
	}
	if q.User != "" {
		w.Add("LOWER(user_name) = ?", strings.ToLower(q.User))
	}
	switch q.Assignee {
	case "":
	case "-":
		w.Add("assignee = ''")
	default:
		w.Add("assignee = ?", q.Assignee)
	}
	if q.Text != "" {
		l := like(q.Text)
		w.Add(`(LOWER(rule_title) LIKE ? ESCAPE '\' OR LOWER(host) LIKE ? ESCAPE '\' OR LOWER(user_name) LIKE ? ESCAPE '\' OR LOWER(rule_id) LIKE ? ESCAPE '\')`, l, l, l, l)
	}
	if !q.Since.IsZero() {
		w.Add("last_seen >= ?", Micros(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("last_seen < ?", Micros(q.Until))
	}
	order := "last_seen DESC, id DESC"
	switch q.Sort {
	case alert.SortFirstSeen:
		order = "first_seen DESC, id DESC"
	case alert.SortLevel:
		order = "level_rank DESC, last_seen DESC, id DESC"
	case alert.SortCount:
		order = "count DESC, last_seen DESC, id DESC"
	}
	return list(ctx, db, alertCols, "alerts", &w, order, q.Page, func(r *sql.Rows) (tansa.Alert, error) { return scanAlert(r) })
}

// Triage applies fn to each alert of ids in one transaction.
func (db *DB) Triage(ctx context.Context, ids []string, fn alert.Mutation) ([]tansa.Alert, error) {
	var out []tansa.Alert
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		for _, id := range ids {
			a, err := scanAlert(tx.QueryRowContext(ctx, db.d.Q("SELECT "+alertCols+" FROM alerts WHERE id = ?"+db.d.forUpdate()), id))
			if err != nil {
				return notFound(err, "alert", id)
			}
			changed, audit, keep, err := fn(a)
			if err != nil {
				return err
			}
			if !keep {
				out = append(out, a)
				continue
			}
			if _, err := db.exec(ctx, tx, "UPDATE alerts SET status = ?, assignee = ?, close_reason = ?, updated = ? WHERE id = ?",
				string(changed.Status), changed.Assignee, changed.CloseReason, Micros(changed.Updated), id); err != nil {
				return fmt.Errorf("triage alert %s: %w", id, err)
			}
			if err := db.appendAudit(ctx, tx, audit); err != nil {
				return err
			}
			out = append(out, changed)
		}
		return nil
	})
	return out, err
}

// ---- exceptions

const exceptionCols = "id, tenant_id, rule_id, host, user_name, conditions, reason, owner, expires, hits, last_hit, creator, created, updated"

func scanException(row interface{ Scan(...any) error }) (alert.Exception, error) {
	var e alert.Exception
	var conds string
	var expires, lastHit, created, updated int64
	if err := row.Scan(&e.ID, &e.TenantID, &e.RuleID, &e.Host, &e.User, &conds, &e.Reason, &e.Owner, &expires, &e.Hits, &lastHit,
		&e.Creator, &created, &updated); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(conds), &e.Conditions); err != nil {
		return e, fmt.Errorf("exception %s conditions: %w", e.ID, err)
	}
	e.Expires, e.LastHit, e.Created, e.Updated = FromMicros(expires), FromMicros(lastHit), FromMicros(created), FromMicros(updated)
	return e, nil
}

// PutAlertException creates or replaces exception e (keeping its hits) with its
// audit entry.
func (db *DB) PutAlertException(ctx context.Context, e alert.Exception, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE alert_exceptions SET rule_id = ?, host = ?, user_name = ?, conditions = ?, reason = ?, owner = ?, expires = ?, updated = ? WHERE id = ?",
			e.RuleID, e.Host, e.User, jsonText(e.Conditions), e.Reason, e.Owner, Micros(e.Expires), Micros(e.Updated), e.ID)
		if err != nil {
			return fmt.Errorf("update exception %s: %w", e.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := db.exec(ctx, tx, "INSERT INTO alert_exceptions ("+exceptionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				e.ID, e.TenantID, e.RuleID, e.Host, e.User, jsonText(e.Conditions), e.Reason, e.Owner, Micros(e.Expires), e.Hits, Micros(e.LastHit),
				e.Creator, Micros(e.Created), Micros(e.Updated)); err != nil {
				return db.conflict(err, "exception %q exists", e.ID)
			}
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// DeleteAlertException removes exception id with its audit entry.
func (db *DB) DeleteAlertException(ctx context.Context, id string, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "DELETE FROM alert_exceptions WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("delete exception %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "exception %q not found", id)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// AlertException returns exception id.
func (db *DB) AlertException(ctx context.Context, id string) (alert.Exception, error) {
	e, err := scanException(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+exceptionCols+" FROM alert_exceptions WHERE id = ?"), id))
	return e, notFound(err, "exception", id)
}

// AlertExceptions lists exceptions, newest first.
func (db *DB) AlertExceptions(ctx context.Context, q alert.ExceptionQuery) ([]alert.Exception, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.RuleID != "" {
		w.Add("rule_id = ?", q.RuleID)
	}
	if !q.Active.IsZero() {
		w.Add("(expires = 0 OR expires > ?)", Micros(q.Active))
	}
	return list(ctx, db, exceptionCols, "alert_exceptions", &w, "created DESC, id DESC", q.Page,
		func(r *sql.Rows) (alert.Exception, error) { return scanException(r) })
}

// CountExceptionHits adds suppressed matches to exceptions.
func (db *DB) CountExceptionHits(ctx context.Context, hits map[string]alert.Hit) error {
	ids := make([]string, 0, len(hits))
	for id := range hits {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a fixed lock order between concurrent callers
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			h := hits[id]
			if _, err := db.exec(ctx, tx, "UPDATE alert_exceptions SET hits = hits + ?, last_hit = CASE WHEN last_hit < ? THEN ? ELSE last_hit END WHERE id = ?",
				h.Count, Micros(h.Last), Micros(h.Last), id); err != nil {
				return fmt.Errorf("count hits of exception %s: %w", id, err)
			}
		}
		return nil
	})
}
