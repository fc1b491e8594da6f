package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/intel"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/intel/service"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var (
	_ retro.Store      = (*DB)(nil)
	_ retro.Indicators = (*DB)(nil)
	_ retro.Tenants    = (*DB)(nil)
)

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// IndicatorsByID returns the indicators with the given IDs, without their
// sightings, in no particular order; unknown IDs are left out.
func (db *DB) IndicatorsByID(ctx context.Context, ids []string) ([]service.Record, error) {
	return db.indicatorsIn(ctx, ids, indicatorCols, func(rows *sql.Rows) (service.Record, error) { return scanRecord(rows) })
}

// HuntKeys returns the indicators with the given IDs with only the
// columns a retro-hunt selects and looks them up by (the stored JSON is
// not read), in no particular order; unknown IDs are left out.
func (db *DB) HuntKeys(ctx context.Context, ids []string) ([]service.Record, error) {
	return db.indicatorsIn(ctx, ids, huntKeyCols, scanHuntKeys)
}

// huntKeyCols are the columns HuntKeys reads, in scanHuntKeys' order.
const huntKeyCols = "id, tenant_id, type, value, tlp, revoked, allowlisted"

func scanHuntKeys(rows *sql.Rows) (service.Record, error) {
	var r service.Record
	var typ, tlp string
	var revoked int64
	if err := rows.Scan(&r.ID, &r.Indicator.TenantID, &typ, &r.Indicator.Value, &tlp, &revoked, &r.Indicator.Allowlisted); err != nil {
		return r, err
	}
	r.Indicator.Type, r.Indicator.TLP, r.Indicator.Revoked = intel.Type(typ), intel.TLP(tlp), revoked != 0
	return r, nil
}

// indicatorsIn reads cols of the indicators with the given IDs, 500 IDs
// a query, with scan.
func (db *DB) indicatorsIn(ctx context.Context, ids []string, cols string, scan func(*sql.Rows) (service.Record, error)) ([]service.Record, error) {
	out := make([]service.Record, 0, len(ids))
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT "+cols+" FROM intel_indicators WHERE id IN ("+placeholders(len(part))+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("indicators by id: %w", err)
		}
		for rows.Next() {
			r, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MatchableIndicators calls fn with every indicator that may match data:
// neither revoked nor allowlisted. The record's Indicator.ID is replaced by
// the store's ID, so a match names the stored indicator.
func (db *DB) MatchableIndicators(ctx context.Context, fn func(r service.Record) error) error {
	rows, err := db.r.QueryContext(ctx, "SELECT "+indicatorCols+" FROM intel_indicators WHERE revoked = 0 AND allowlisted = ''")
	if err != nil {
		return fmt.Errorf("matchable indicators: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		r.Indicator.ID = r.ID
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// IndicatorsVersion returns a value that changes whenever an indicator is
// added or changed: the count and the latest update.
func (db *DB) IndicatorsVersion(ctx context.Context) (string, error) {
	var n, last int64
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(MAX(updated), 0) FROM intel_indicators").Scan(&n, &last); err != nil {
		return "", fmt.Errorf("indicators version: %w", err)
	}
	return fmt.Sprintf("%d/%d", n, last), nil
}

// UpdatedKeys returns tenant's indicators ("" for global ones) created or
// changed at exactly at — those of one import, whose transaction stamps
// them all with its time — with their hunt keys (as HuntKeys returns
// them), in no particular order: a hunt enqueued with them need not read
// the keys again.
func (db *DB) UpdatedKeys(ctx context.Context, tenant string, at time.Time) ([]service.Record, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT "+huntKeyCols+" FROM intel_indicators WHERE tenant_id = ? AND updated = ?"), tenant, Micros(at))
	if err != nil {
		return nil, fmt.Errorf("updated indicators: %w", err)
	}
	defer rows.Close()
	var out []service.Record
	for rows.Next() {
		r, err := scanHuntKeys(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddSightings appends sightings to stored indicators in one transaction.
func (db *DB) AddSightings(ctx context.Context, ss []service.NewSighting) error {
	if len(ss) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, s := range ss {
			if _, err := db.exec(ctx, tx, "INSERT INTO intel_sightings (indicator_id, tenant_id, location, seen, count, ref) VALUES (?, ?, ?, ?, ?, ?)",
				s.IndicatorID, s.Sighting.TenantID, s.Sighting.Where, Micros(s.Sighting.When), s.Sighting.Count, s.Sighting.Ref); err != nil {
				return fmt.Errorf("add sighting of %s: %w", s.IndicatorID, err)
			}
		}
		return nil
	})
}

// TenantIDs lists the IDs of every tenant.
func (db *DB) TenantIDs(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT id FROM tenants ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("tenant ids: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const huntCols = "id, tenant_id, origin, ref, actor, indicators, days, status, total, done, hits, error, created, started, finished"

func scanHunt(row interface{ Scan(...any) error }) (retro.Job, error) {
	var j retro.Job
	var inds string
	var created, started, finished int64
	if err := row.Scan(&j.ID, &j.TenantID, &j.Origin, &j.Ref, &j.Actor, &inds, &j.Days, &j.Status, &j.Total, &j.Done, &j.Hits,
		&j.Error, &created, &started, &finished); err != nil {
		return j, err
	}
	if err := json.Unmarshal([]byte(inds), &j.Indicators); err != nil {
		return j, fmt.Errorf("hunt %s indicators: %w", j.ID, err)
	}
	j.Created, j.Started, j.Finished = FromMicros(created), FromMicros(started), FromMicros(finished)
	return j, nil
}

// CreateHunts stores new hunts.
func (db *DB) CreateHunts(ctx context.Context, jobs []retro.Job) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, j := range jobs {
			inds, err := json.Marshal(j.Indicators)
			if err != nil {
				return err
			}
			if _, err := db.exec(ctx, tx, "INSERT INTO intel_hunts ("+huntCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				j.ID, j.TenantID, string(j.Origin), j.Ref, j.Actor, string(inds), j.Days, string(j.Status), j.Total, j.Done, j.Hits,
				j.Error, Micros(j.Created), Micros(j.Started), Micros(j.Finished)); err != nil {
				return fmt.Errorf("create hunt: %w", err)
			}
		}
		return nil
	})
}

// Hunt returns one hunt.
func (db *DB) Hunt(ctx context.Context, id string) (retro.Job, error) {
	j, err := scanHunt(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+huntCols+" FROM intel_hunts WHERE id = ?"), id))
	return j, notFound(err, "hunt", id)
}

// Hunts lists hunts, newest first, without their indicator lists.
func (db *DB) Hunts(ctx context.Context, q retro.Query) ([]retro.Job, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.IndicatorID != "" {
		w.Add("id IN (SELECT hunt_id FROM intel_hunt_hits WHERE indicator_id = ?) OR (origin = 'manual' AND ref = ?)", q.IndicatorID, q.IndicatorID)
		w.Conds[len(w.Conds)-1] = "(" + w.Conds[len(w.Conds)-1] + ")"
	}
	cols := strings.Replace(huntCols, "indicators", "'[]'", 1)
	return list(ctx, db, cols, "intel_hunts", &w, "created DESC, id DESC", q.Page,
		func(r *sql.Rows) (retro.Job, error) { return scanHunt(r) })
}

// ClaimHunt marks the oldest queued hunt running.
func (db *DB) ClaimHunt(ctx context.Context, now time.Time) (retro.Job, bool, error) {
	var j retro.Job
	found := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, db.d.Q("SELECT id FROM intel_hunts WHERE status = ? ORDER BY created, id LIMIT 1"+db.d.forUpdate()), string(retro.StatusQueued)).Scan(&id)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, "UPDATE intel_hunts SET status = ?, started = ? WHERE id = ?", string(retro.StatusRunning), Micros(now), id); err != nil {
			return err
		}
		j, err = scanHunt(tx.QueryRowContext(ctx, db.d.Q("SELECT "+huntCols+" FROM intel_hunts WHERE id = ?"), id))
		found = err == nil
		return err
	})
	if err != nil {
		return retro.Job{}, false, fmt.Errorf("claim hunt: %w", err)
	}
	return j, found, nil
}

// RequeueRunning puts running hunts back in the queue.
func (db *DB) RequeueRunning(ctx context.Context) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE intel_hunts SET status = ? WHERE status = ?", string(retro.StatusQueued), string(retro.StatusRunning))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return int(n), err
}

// UpdateHunt stores a hunt's progress and outcome.
func (db *DB) UpdateHunt(ctx context.Context, j retro.Job) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE intel_hunts SET status = ?, done = ?, hits = ?, error = ?, finished = ? WHERE id = ?",
			string(j.Status), j.Done, j.Hits, j.Error, Micros(j.Finished), j.ID)
		if err != nil {
			return fmt.Errorf("update hunt %s: %w", j.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "hunt %q not found", j.ID)
		}
		return nil
	})
}

// AddHits stores hits, each once.
func (db *DB) AddHits(ctx context.Context, hits []retro.Hit) error {
	if len(hits) == 0 {
		return nil
	}
	// Many rows a statement: one statement a hit, prepared each time,
	// was most of the cost of storing a hunt's 10,000 hits.
	const perInsert = 100
	return db.tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(hits); start += perInsert {
			part := hits[start:min(start+perInsert, len(hits))]
			args := make([]any, 0, 6*len(part))
			for _, h := range part {
				args = append(args, h.HuntID, h.IndicatorID, h.Value, h.Source, h.Ref, Micros(h.Time))
			}
			q := "INSERT INTO intel_hunt_hits (hunt_id, indicator_id, value, source, ref, time) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", len(part)), ", ") +
				" ON CONFLICT (hunt_id, indicator_id, source, ref) DO NOTHING"
			if _, err := db.exec(ctx, tx, q, args...); err != nil {
				return fmt.Errorf("add hits: %w", err)
			}
		}
		return nil
	})
}

const hitCols = "h.hunt_id, h.indicator_id, h.value, h.source, h.ref, h.time"

func scanHit(r *sql.Rows) (retro.Hit, error) {
	var h retro.Hit
	var t int64
	err := r.Scan(&h.HuntID, &h.IndicatorID, &h.Value, &h.Source, &h.Ref, &t)
	h.Time = FromMicros(t)
	return h, err
}

// Hits lists one hunt's hits, newest first.
func (db *DB) Hits(ctx context.Context, huntID string, p access.Page) ([]retro.Hit, int, error) {
	var w Where
	w.Add("h.hunt_id = ?", huntID)
	return list(ctx, db, hitCols, "intel_hunt_hits h", &w, "h.time DESC, h.ref", p, scanHit)
}

// IndicatorHits lists an indicator's hits in the hunts of scope's tenants,
// each event or sweep result once however many hunts found it.
func (db *DB) IndicatorHits(ctx context.Context, indicatorID string, scope access.Scope, p access.Page) ([]retro.Hit, int, error) {
	var sub Where
	sub.Scope("tenant_id", scope)
	from := `(SELECT MIN(hunt_id) AS hunt_id, indicator_id, MIN(value) AS value, source, ref, MAX(time) AS time
		FROM intel_hunt_hits WHERE indicator_id = ? AND hunt_id IN (SELECT id FROM intel_hunts` + sub.String() + `)
		GROUP BY indicator_id, source, ref) h`
	w := Where{Args: append([]any{indicatorID}, sub.Args...)}
	return list(ctx, db, hitCols, from, &w, "h.time DESC, h.ref", p, scanHit)
}

// RetroDays returns tenant's look-back window, 0 when unset.
func (db *DB) RetroDays(ctx context.Context, tenant string) (int, error) {
	var d int
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT retro_days FROM intel_settings WHERE tenant_id = ?"), tenant).Scan(&d)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return d, err
}

// SetRetroDays sets tenant's look-back window.
func (db *DB) SetRetroDays(ctx context.Context, tenant string, days int) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO intel_settings (tenant_id, retro_days) VALUES (?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET retro_days = excluded.retro_days`, tenant, days)
		return err
	})
}
