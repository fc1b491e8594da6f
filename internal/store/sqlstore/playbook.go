package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/playbook"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ playbook.Store = (*DB)(nil)

const playbookCols = "id, tenant_id, name, version, enabled, source, created, updated, updated_by"

func scanPlaybook(row interface{ Scan(...any) error }) (playbook.Playbook, error) {
	var pb playbook.Playbook
	var enabled int
	var created, updated int64
	err := row.Scan(&pb.ID, &pb.TenantID, &pb.Name, &pb.Version, &enabled, &pb.Source, &created, &updated, &pb.UpdatedBy)
	pb.Enabled, pb.Created, pb.Updated = enabled != 0, FromMicros(created), FromMicros(updated)
	return pb, err
}

// CreatePlaybook stores a new playbook and its first version.
func (db *DB) CreatePlaybook(ctx context.Context, pb playbook.Playbook) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO playbooks ("+playbookCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			pb.ID, pb.TenantID, pb.Name, pb.Version, b2i(pb.Enabled), pb.Source, Micros(pb.Created), Micros(pb.Updated), pb.UpdatedBy)
		if err != nil {
			return db.conflict(err, "a playbook named %q exists in this tenant", pb.Name)
		}
		_, err = db.exec(ctx, tx, "INSERT INTO playbook_versions (playbook_id, version, source, created, actor) VALUES (?, ?, ?, ?, ?)",
			pb.ID, pb.Version, pb.Source, Micros(pb.Updated), pb.UpdatedBy)
		return err
	})
}

// UpdatePlaybook stores a new state of a playbook if nobody changed it
// since version prev.
func (db *DB) UpdatePlaybook(ctx context.Context, pb playbook.Playbook, prev int) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE playbooks SET name = ?, version = ?, enabled = ?, source = ?, updated = ?, updated_by = ?
			WHERE id = ? AND version = ?`, pb.Name, pb.Version, b2i(pb.Enabled), pb.Source, Micros(pb.Updated), pb.UpdatedBy, pb.ID, prev)
		if err != nil {
			return db.conflict(err, "a playbook named %q exists in this tenant", pb.Name)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var v int
			if err := tx.QueryRowContext(ctx, db.d.Q("SELECT version FROM playbooks WHERE id = ?"), pb.ID).Scan(&v); err != nil {
				return notFound(err, "playbook", pb.ID)
			}
			return tansa.Errorf(tansa.Conflict, "the playbook changed (now version %d); reload it and save again", v)
		}
		if pb.Version == prev {
			return nil
		}
		_, err = db.exec(ctx, tx, "INSERT INTO playbook_versions (playbook_id, version, source, created, actor) VALUES (?, ?, ?, ?, ?)",
			pb.ID, pb.Version, pb.Source, Micros(pb.Updated), pb.UpdatedBy)
		return err
	})
}

// Playbook returns one playbook at its current version.
func (db *DB) Playbook(ctx context.Context, id string) (playbook.Playbook, error) {
	pb, err := scanPlaybook(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+playbookCols+" FROM playbooks WHERE id = ?"), id))
	return pb, notFound(err, "playbook", id)
}

// PlaybookSource returns the source of one version of a playbook.
func (db *DB) PlaybookSource(ctx context.Context, id string, version int) (string, error) {
	var src string
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT source FROM playbook_versions WHERE playbook_id = ? AND version = ?"), id, version).Scan(&src)
	return src, notFound(err, "playbook version", fmt.Sprintf("%s@%d", id, version))
}

// Playbooks lists playbooks by tenant and name.
func (db *DB) Playbooks(ctx context.Context, q playbook.PlaybookQuery) ([]playbook.Playbook, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.Text != "" {
		w.Add(`LOWER(name) LIKE ? ESCAPE '\'`, like(q.Text))
	}
	return list(ctx, db, playbookCols, "playbooks", &w, "tenant_id, name", q.Page,
		func(r *sql.Rows) (playbook.Playbook, error) { return scanPlaybook(r) })
}

// EnabledPlaybooks returns the enabled playbooks of every tenant.
func (db *DB) EnabledPlaybooks(ctx context.Context) ([]playbook.Playbook, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+playbookCols+" FROM playbooks WHERE enabled = 1")
	if err != nil {
		return nil, fmt.Errorf("enabled playbooks: %w", err)
	}
	defer rows.Close()
	var out []playbook.Playbook
	for rows.Next() {
		pb, err := scanPlaybook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pb)
	}
	return out, rows.Err()
}

const runCols = "id, tenant_id, playbook_id, playbook, version, status, dry_run, started_via, trigger_key, alert_id, alert, case_id, started_by, next_step, wake_at, error, created, updated"

func scanRun(row interface{ Scan(...any) error }) (playbook.Run, error) {
	var r playbook.Run
	var dry int
	var alert string
	var wake, created, updated int64
	err := row.Scan(&r.ID, &r.TenantID, &r.PlaybookID, &r.Playbook, &r.Version, &r.Status, &dry, &r.Trigger, &r.TriggerKey,
		&r.AlertID, &alert, &r.CaseID, &r.StartedBy, &r.Cursor, &wake, &r.Error, &created, &updated)
	r.DryRun, r.Alert = dry != 0, json.RawMessage(alert)
	r.WakeAt, r.Created, r.Updated = FromMicros(wake), FromMicros(created), FromMicros(updated)
	return r, err
}

// CreateRun stores a new run unless one of the same playbook and trigger
// key exists.
func (db *DB) CreateRun(ctx context.Context, r playbook.Run) (bool, error) {
	alert := string(r.Alert)
	if alert == "" {
		alert = "{}"
	}
	created := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, db.d.Q("SELECT 1 FROM playbook_runs WHERE playbook_id = ? AND trigger_key = ?"), r.PlaybookID, r.TriggerKey).Scan(&one)
		if err == nil {
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		_, err = db.exec(ctx, tx, "INSERT INTO playbook_runs ("+runCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			r.ID, r.TenantID, r.PlaybookID, r.Playbook, r.Version, r.Status, b2i(r.DryRun), r.Trigger, r.TriggerKey, r.AlertID, alert,
			r.CaseID, r.StartedBy, r.Cursor, Micros(r.WakeAt), r.Error, Micros(r.Created), Micros(r.Updated))
		if err != nil {
			if db.d.IsUnique != nil && db.d.IsUnique(err) {
				return nil // a concurrent trigger of the same alert won
			}
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("create run: %w", err)
	}
	return created, nil
}

// Run returns a run with its step records in order of execution.
func (db *DB) Run(ctx context.Context, id string) (playbook.Run, error) {
	r, err := scanRun(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+runCols+" FROM playbook_runs WHERE id = ?"), id))
	if err != nil {
		return r, notFound(err, "run", id)
	}
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT data FROM playbook_steps WHERE run_id = ? ORDER BY seq"), id)
	if err != nil {
		return r, fmt.Errorf("steps of run %s: %w", id, err)
	}
	defer rows.Close()
	r.Steps = []playbook.StepRecord{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return r, err
		}
		var rec playbook.StepRecord
		if err := json.Unmarshal([]byte(data), &rec); err != nil {
			return r, fmt.Errorf("step of run %s: %w", id, err)
		}
		r.Steps = append(r.Steps, rec)
	}
	return r, rows.Err()
}

// Runs lists runs, newest first, without their steps.
func (db *DB) Runs(ctx context.Context, q playbook.RunQuery) ([]playbook.Run, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.PlaybookID != "" {
		w.Add("playbook_id = ?", q.PlaybookID)
	}
	if q.Status != "" {
		w.Add("status = ?", q.Status)
	}
	return list(ctx, db, runCols, "playbook_runs", &w, "created DESC, id DESC", q.Page,
		func(r *sql.Rows) (playbook.Run, error) { return scanRun(r) })
}

// DueRuns returns the runs a runner should look at now.
func (db *DB) DueRuns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q(`SELECT id FROM playbook_runs
		WHERE status = 'running' OR (status = 'waiting' AND wake_at <= ?) ORDER BY updated LIMIT ?`), Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due runs: %w", err)
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

// SaveStep stores a step record and the run's new state together.
func (db *DB) SaveStep(ctx context.Context, runID string, rec *playbook.StepRecord, u playbook.RunUpdate) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if rec != nil {
			data, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			res, err := db.exec(ctx, tx, "UPDATE playbook_steps SET seq = ?, data = ? WHERE run_id = ? AND step_id = ?", rec.Seq, string(data), runID, rec.StepID)
			if err != nil {
				return fmt.Errorf("save step %s of run %s: %w", rec.StepID, runID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if _, err := db.exec(ctx, tx, "INSERT INTO playbook_steps (run_id, step_id, seq, data) VALUES (?, ?, ?, ?)", runID, rec.StepID, rec.Seq, string(data)); err != nil {
					return fmt.Errorf("save step %s of run %s: %w", rec.StepID, runID, err)
				}
			}
		}
		res, err := db.exec(ctx, tx, "UPDATE playbook_runs SET status = ?, next_step = ?, wake_at = ?, error = ?, case_id = ?, updated = ? WHERE id = ?",
			u.Status, u.Cursor, Micros(u.WakeAt), u.Error, u.CaseID, Micros(u.Updated), runID)
		if err != nil {
			return fmt.Errorf("save run %s: %w", runID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "run %q not found", runID)
		}
		return nil
	})
}

// ClaimRun takes a run's lease when it is free or expired.
func (db *DB) ClaimRun(ctx context.Context, id, owner string, until, now time.Time) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE playbook_runs SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?)",
			owner, Micros(until), id, owner, Micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim run %s: %w", id, err)
	}
	return n == 1, nil
}

// ReleaseRun gives up a lease.
func (db *DB) ReleaseRun(ctx context.Context, id, owner string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "UPDATE playbook_runs SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?", id, owner)
		return err
	})
}

// ReleaseAll clears every lease.
func (db *DB) ReleaseAll(ctx context.Context) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "UPDATE playbook_runs SET lease_owner = '', lease_until = 0 WHERE lease_owner <> ''")
		return err
	})
}

// PutConnector creates or replaces a connector.
func (db *DB) PutConnector(ctx context.Context, c playbook.Connector) error {
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "DELETE FROM playbook_connectors WHERE tenant_id = ? AND name = ?", c.TenantID, c.Name); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, "INSERT INTO playbook_connectors (tenant_id, name, kind, config, secret, updated, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.TenantID, c.Name, c.Kind, string(cfg), string(c.Secret), Micros(c.Updated), c.UpdatedBy)
		return err
	})
}

const connectorCols = "tenant_id, name, kind, config, secret, updated, updated_by"

func scanConnector(row interface{ Scan(...any) error }) (playbook.Connector, error) {
	var c playbook.Connector
	var cfg, secret string
	var updated int64
	if err := row.Scan(&c.TenantID, &c.Name, &c.Kind, &cfg, &secret, &updated, &c.UpdatedBy); err != nil {
		return c, err
	}
	c.Secret, c.Updated = []byte(secret), FromMicros(updated)
	if err := json.Unmarshal([]byte(cfg), &c.Config); err != nil {
		return c, fmt.Errorf("connector %s config: %w", c.Name, err)
	}
	return c, nil
}

// Connector returns one connector of a tenant.
func (db *DB) Connector(ctx context.Context, tenant, name string) (playbook.Connector, error) {
	c, err := scanConnector(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+connectorCols+" FROM playbook_connectors WHERE tenant_id = ? AND name = ?"), tenant, name))
	return c, notFound(err, "connector", name)
}

// Connectors lists the connectors of the tenants in scope.
func (db *DB) Connectors(ctx context.Context, scope access.Scope) ([]playbook.Connector, error) {
	var w Where
	w.Scope("tenant_id", scope)
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT "+connectorCols+" FROM playbook_connectors"+w.String()+" ORDER BY tenant_id, name"), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("connectors: %w", err)
	}
	defer rows.Close()
	out := []playbook.Connector{}
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteConnector removes a connector.
func (db *DB) DeleteConnector(ctx context.Context, tenant, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "DELETE FROM playbook_connectors WHERE tenant_id = ? AND name = ?", tenant, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "connector %q not found", name)
		}
		return nil
	})
}

// PutBlock adds a value to a tenant's block list.
func (db *DB) PutBlock(ctx context.Context, b playbook.Block) (bool, error) {
	added := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, db.d.Q("SELECT 1 FROM playbook_blocks WHERE tenant_id = ? AND type = ? AND value = ?"), b.TenantID, b.Type, b.Value).Scan(&one)
		if err == nil {
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		_, err = db.exec(ctx, tx, "INSERT INTO playbook_blocks (tenant_id, type, value, reason, run_id, step_id, actor, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			b.TenantID, b.Type, b.Value, b.Reason, b.RunID, b.StepID, b.Actor, Micros(b.Created))
		added = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("block %s: %w", b.Value, err)
	}
	return added, nil
}

// RemoveBlock takes a value off a tenant's block list.
func (db *DB) RemoveBlock(ctx context.Context, tenant, typ, value string) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "DELETE FROM playbook_blocks WHERE tenant_id = ? AND type = ? AND value = ?", tenant, typ, value)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("unblock %s: %w", value, err)
	}
	return n > 0, nil
}

// Blocks lists a tenant's blocked values.
func (db *DB) Blocks(ctx context.Context, tenant string) ([]playbook.Block, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT tenant_id, type, value, reason, run_id, step_id, actor, created FROM playbook_blocks WHERE tenant_id = ? ORDER BY type, value"), tenant)
	if err != nil {
		return nil, fmt.Errorf("blocks of %s: %w", tenant, err)
	}
	defer rows.Close()
	out := []playbook.Block{}
	for rows.Next() {
		var b playbook.Block
		var created int64
		if err := rows.Scan(&b.TenantID, &b.Type, &b.Value, &b.Reason, &b.RunID, &b.StepID, &b.Actor, &created); err != nil {
			return nil, err
		}
		b.Created = FromMicros(created)
		out = append(out, b)
	}
	return out, rows.Err()
}
