package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ service.Store = (*DB)(nil)

// forUpdate locks a row read for a merge until the transaction ends, so
// that two concurrent imports cannot lose each other's merge. SQLite has
// one writer at a time and needs no lock.
func (d Dialect) forUpdate() string {
	if d.Name == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

// intelWriter upserts indicators inside one import's transaction. After a
// failure of the database every later Upsert fails with the same error and
// ImportIndicators rolls back.
type intelWriter struct {
	ctx context.Context
	db  *DB
	tx  *sql.Tx
	at  int64
	err error
}

// Upsert implements service.Writer.
func (w *intelWriter) Upsert(ind intel.Indicator) (bool, error) {
	if w.err != nil {
		return false, w.err
	}
	if err := ind.Validate(); err != nil {
		return false, err
	}
	added, err := w.upsert(ind)
	if err != nil {
		w.err = fmt.Errorf("upsert indicator %s %q: %w", ind.Type, ind.Value, err)
		return false, w.err
	}
	return added, nil
}

func (w *intelWriter) upsert(ind intel.Indicator) (bool, error) {
	sightings := ind.Sightings
	ind.Sightings = nil
	data, err := json.Marshal(ind)
	if err != nil {
		return false, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	res, err := w.db.exec(w.ctx, w.tx, `INSERT INTO intel_indicators (id, tenant_id, type, value, name, tlp, revoked, allowlisted, created, updated, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, type, value) DO NOTHING`,
		id, ind.TenantID, string(ind.Type), ind.Value, ind.Name, string(ind.TLP), b2i(ind.Revoked), ind.Allowlisted, w.at, w.at, string(data))
	if err != nil {
		return false, err
	}
	added := true
	if n, _ := res.RowsAffected(); n == 0 {
		added = false
		var old string
		err := w.tx.QueryRowContext(w.ctx, w.db.d.Q("SELECT id, data FROM intel_indicators WHERE tenant_id = ? AND type = ? AND value = ?"+w.db.d.forUpdate()),
			ind.TenantID, string(ind.Type), ind.Value).Scan(&id, &old)
		if err != nil {
			return false, fmt.Errorf("read stored: %w", err)
		}
		var cur intel.Indicator
		if err := json.Unmarshal([]byte(old), &cur); err != nil {
			return false, fmt.Errorf("indicator %s data: %w", id, err)
		}
		cur.Merge(&ind)
		if data, err = json.Marshal(cur); err != nil {
			return false, err
		}
		if _, err := w.db.exec(w.ctx, w.tx, "UPDATE intel_indicators SET name = ?, tlp = ?, revoked = ?, allowlisted = ?, updated = ?, data = ? WHERE id = ?",
			cur.Name, string(cur.TLP), b2i(cur.Revoked), cur.Allowlisted, w.at, string(data), id); err != nil {
			return false, err
		}
	}
	for _, s := range sightings {
		if _, err := w.db.exec(w.ctx, w.tx, "INSERT INTO intel_sightings (indicator_id, tenant_id, location, seen, count, ref) VALUES (?, ?, ?, ?, ?, ?)",
			id, s.TenantID, s.Where, Micros(s.When), s.Count, s.Ref); err != nil {
			return false, fmt.Errorf("add sighting: %w", err)
		}
	}
	return added, nil
}

// ImportIndicators runs fn in one transaction with the log entry and audit
// entry it returns.
func (db *DB) ImportIndicators(ctx context.Context, at time.Time, fn func(w service.Writer) (service.Import, tansa.AuditEntry, error)) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		w := &intelWriter{ctx: ctx, db: db, tx: tx, at: Micros(at)}
		rec, a, err := fn(w)
		if err != nil {
			return err
		}
		if w.err != nil {
			return w.err
		}
		res, err := json.Marshal(rec.Result)
		if err != nil {
			return fmt.Errorf("import %s result: %w", rec.ID, err)
		}
		if _, err := db.exec(ctx, tx, "INSERT INTO intel_imports (id, tenant_id, time, actor, source, result) VALUES (?, ?, ?, ?, ?, ?)",
			rec.ID, rec.TenantID, Micros(rec.Time), rec.Actor, rec.Source, string(res)); err != nil {
			return fmt.Errorf("log import %s: %w", rec.ID, err)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

const indicatorCols = "id, created, updated, data"

func scanRecord(row interface{ Scan(...any) error }) (service.Record, error) {
	var r service.Record
	var created, updated int64
	var data string
	if err := row.Scan(&r.ID, &created, &updated, &data); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(data), &r.Indicator); err != nil {
		return r, fmt.Errorf("indicator %s data: %w", r.ID, err)
	}
	r.Created, r.Updated = FromMicros(created), FromMicros(updated)
	return r, nil
}

// Indicator returns indicator id with its sightings, oldest first.
func (db *DB) Indicator(ctx context.Context, id string) (service.Record, error) {
	r, err := scanRecord(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+indicatorCols+" FROM intel_indicators WHERE id = ?"), id))
	if err != nil {
		return r, notFound(err, "indicator", id)
	}
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT tenant_id, location, seen, count, ref FROM intel_sightings WHERE indicator_id = ? ORDER BY id"), id)
	if err != nil {
		return r, fmt.Errorf("sightings of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s intel.Sighting
		var seen int64
		if err := rows.Scan(&s.TenantID, &s.Where, &seen, &s.Count, &s.Ref); err != nil {
			return r, fmt.Errorf("sightings of %s: %w", id, err)
		}
		s.When = FromMicros(seen)
		r.Indicator.Sightings = append(r.Indicator.Sightings, s)
	}
	return r, rows.Err()
}

// Indicators lists indicators, most recently updated first.
func (db *DB) Indicators(ctx context.Context, q service.Query) ([]service.Record, int, error) {
	var w Where
	var parts []string
	switch {
	case q.Scope.All:
		parts = append(parts, "tenant_id <> ''")
	case len(q.Scope.Tenants) > 0:
		parts = append(parts, "tenant_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Scope.Tenants)), ",")+")")
		for _, t := range q.Scope.Tenants {
			w.Args = append(w.Args, t)
		}
	}
	switch {
	case q.Global && q.GlobalRed:
		parts = append(parts, "tenant_id = ''")
	case q.Global:
		parts = append(parts, "(tenant_id = '' AND tlp <> 'red')")
	}
	if len(parts) == 0 {
		w.Add("1 = 0")
	} else {
		w.Conds = append(w.Conds, "("+strings.Join(parts, " OR ")+")")
	}
	if q.Type != "" {
		w.Add("type = ?", string(q.Type))
	}
	if q.Text != "" {
		w.Add(`(LOWER(value) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`, like(q.Text), like(q.Text))
	}
	return list(ctx, db, indicatorCols, "intel_indicators", &w, "updated DESC, id DESC", q.Page,
		func(r *sql.Rows) (service.Record, error) { return scanRecord(r) })
}

// Imports lists the import log, newest first.
func (db *DB) Imports(ctx context.Context, q service.ImportQuery) ([]service.Import, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	return list(ctx, db, "id, tenant_id, time, actor, source, result", "intel_imports", &w, "time DESC, id DESC", q.Page,
		func(r *sql.Rows) (service.Import, error) {
			var im service.Import
			var t int64
			var res string
			if err := r.Scan(&im.ID, &im.TenantID, &t, &im.Actor, &im.Source, &res); err != nil {
				return im, err
			}
			im.Time = FromMicros(t)
			if err := json.Unmarshal([]byte(res), &im.Result); err != nil {
				return im, fmt.Errorf("import %s result: %w", im.ID, err)
			}
			return im, nil
		})
}

// BlockCandidates returns tenant's and the global blockable indicators.
func (db *DB) BlockCandidates(ctx context.Context, tenant string) ([]intel.Indicator, error) {
	q := `SELECT data FROM intel_indicators WHERE tenant_id IN (?, '') AND revoked = 0 AND allowlisted = ''
		AND type IN ('ipv4', 'ipv6', 'cidr', 'domain', 'url')`
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), tenant)
	if err != nil {
		return nil, fmt.Errorf("block candidates of %q: %w", tenant, err)
	}
	defer rows.Close()
	var out []intel.Indicator
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("block candidates of %q: %w", tenant, err)
		}
		var ind intel.Indicator
		if err := json.Unmarshal([]byte(data), &ind); err != nil {
			return nil, fmt.Errorf("block candidates of %q: stored indicator: %w", tenant, err)
		}
		out = append(out, ind)
	}
	return out, rows.Err()
}

// Shared returns tenant's own and the global non-RED indicators updated
// after (after, afterID), oldest first.
func (db *DB) Shared(ctx context.Context, tenant string, after time.Time, afterID string, limit int) ([]service.Record, error) {
	q := "SELECT " + indicatorCols + ` FROM intel_indicators
		WHERE (tenant_id = ? OR (tenant_id = '' AND tlp <> 'red')) AND (updated > ? OR (updated = ? AND id > ?))
		ORDER BY updated, id LIMIT ?`
	a := Micros(after)
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), tenant, a, a, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("shared indicators of %q: %w", tenant, err)
	}
	defer rows.Close()
	var out []service.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
