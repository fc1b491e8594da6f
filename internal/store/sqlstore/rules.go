package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tansa-sec/tansa/internal/detect/ruleset"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ ruleset.Store = (*DB)(nil)

// CreateVersion stores the next version of a rule set and makes it live.
func (db *DB) CreateVersion(ctx context.Context, nv ruleset.NewVersion, a tansa.AuditEntry) (int, error) {
	v := nv.Version
	var n int
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, db.d.Q("SELECT COALESCE(MAX(version), 0) + 1 FROM rule_versions WHERE tenant_id = ? AND name = ?"),
			v.TenantID, v.Set).Scan(&n); err != nil {
			return fmt.Errorf("number rule version: %w", err)
		}
		res, err := json.Marshal(v.Result)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, "INSERT INTO rule_versions (id, tenant_id, name, version, time, actor, source, rules, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			v.ID, v.TenantID, v.Set, n, Micros(v.Time), v.Actor, v.Source, v.Rules, string(res)); err != nil {
			return db.conflict(err, "rule set %q is being imported by someone else; try again", v.Set)
		}
		for _, f := range nv.Files {
			if _, err := db.exec(ctx, tx, "INSERT INTO rule_files (version_id, path, body) VALUES (?, ?, ?) ON CONFLICT (version_id, path) DO NOTHING",
				v.ID, f.Path, string(f.Body)); err != nil {
				return fmt.Errorf("store rule file %s: %w", f.Path, err)
			}
		}
		for i, r := range nv.Rules {
			if _, err := db.exec(ctx, tx, `INSERT INTO rules (version_id, seq, rule_id, title, level, level_rank, status, kind, product, category, service, tags, path)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				v.ID, i, r.RuleID, r.Title, r.Level, tansa.LevelRank(r.Level), r.Status, r.Kind, r.Product, r.Category, r.Service, jsonText(r.Tags), r.Path); err != nil {
				return fmt.Errorf("index rule %s: %w", r.RuleID, err)
			}
		}
		if err := db.setLive(ctx, tx, v.TenantID, v.Set, n, v.Time); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a)
	})
	return n, err
}

func (db *DB) setLive(ctx context.Context, tx *sql.Tx, tenant, set string, version int, at time.Time) error {
	if _, err := db.exec(ctx, tx, "INSERT INTO rule_sets (tenant_id, name, live, updated) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, name) DO UPDATE SET live = excluded.live, updated = excluded.updated",
		tenant, set, version, Micros(at)); err != nil {
		return fmt.Errorf("make version %d of %s live: %w", version, set, err)
	}
	return nil
}

// SetLive makes version id live.
func (db *DB) SetLive(ctx context.Context, id string, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var tenant, set string
		var n int
		if err := tx.QueryRowContext(ctx, db.d.Q("SELECT tenant_id, name, version FROM rule_versions WHERE id = ?"), id).Scan(&tenant, &set, &n); err != nil {
			return notFound(err, "rule version", id)
		}
		if err := db.setLive(ctx, tx, tenant, set, n, a.Time); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a)
	})
}

const versionCols = "v.id, v.tenant_id, v.name, v.version, v.time, v.actor, v.source, v.rules, v.result, COALESCE(s.live, 0)"
const versionFrom = "rule_versions v LEFT JOIN rule_sets s ON s.tenant_id = v.tenant_id AND s.name = v.name"

func scanVersion(row interface{ Scan(...any) error }) (ruleset.Version, error) {
	var v ruleset.Version
	var t int64
	var res string
	var live int
	if err := row.Scan(&v.ID, &v.TenantID, &v.Set, &v.Version, &t, &v.Actor, &v.Source, &v.Rules, &res, &live); err != nil {
		return v, err
	}
	v.Time, v.Live = FromMicros(t), live == v.Version
	if err := json.Unmarshal([]byte(res), &v.Result); err != nil {
		return v, fmt.Errorf("rule version %s result: %w", v.ID, err)
	}
	return v, nil
}

// RuleVersion returns version id.
func (db *DB) RuleVersion(ctx context.Context, id string) (ruleset.Version, error) {
	v, err := scanVersion(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+versionCols+" FROM "+versionFrom+" WHERE v.id = ?"), id))
	return v, notFound(err, "rule version", id)
}

// RuleVersions lists versions, newest first.
func (db *DB) RuleVersions(ctx context.Context, q ruleset.VersionQuery) ([]ruleset.Version, int, error) {
	var w Where
	var inner Where
	inner.Scope("v.tenant_id", q.Scope)
	cond := inner.String()
	if cond == "" {
		cond = "1 = 1"
	} else {
		cond = cond[len(" WHERE "):]
	}
	if q.Global {
		cond = "(" + cond + " OR v.tenant_id = '')"
	}
	w.Add(cond, inner.Args...)
	if q.Set != "" {
		w.Add("v.name = ?", q.Set)
	}
	return list(ctx, db, versionCols, versionFrom, &w, "v.time DESC, v.id DESC", q.Page,
		func(r *sql.Rows) (ruleset.Version, error) { return scanVersion(r) })
}

// LiveVersions returns the live versions of the global sets and tenant's.
func (db *DB) LiveVersions(ctx context.Context, tenant string) ([]ruleset.Version, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT "+versionCols+" FROM "+versionFrom+" WHERE v.version = s.live AND v.tenant_id IN ('', ?)"), tenant)
	if err != nil {
		return nil, fmt.Errorf("live rule versions of %q: %w", tenant, err)
	}
	defer rows.Close()
	var out []ruleset.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VersionFiles returns the rule files of version id.
func (db *DB) VersionFiles(ctx context.Context, id string) ([]ruleset.File, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT path, body FROM rule_files WHERE version_id = ? ORDER BY path"), id)
	if err != nil {
		return nil, fmt.Errorf("rule files of %s: %w", id, err)
	}
	defer rows.Close()
	var out []ruleset.File
	for rows.Next() {
		var f ruleset.File
		var body string
		if err := rows.Scan(&f.Path, &body); err != nil {
			return nil, err
		}
		f.Body = []byte(body)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Rules lists the rules of the live versions q.Tenant sees.
func (db *DB) Rules(ctx context.Context, q ruleset.RuleQuery) ([]ruleset.Rule, int, error) {
	var w Where
	w.Add("v.tenant_id IN ('', ?)", q.Tenant)
	if q.Text != "" {
		w.Add(`(LOWER(r.title) LIKE ? ESCAPE '\' OR LOWER(r.rule_id) LIKE ? ESCAPE '\')`, like(q.Text), like(q.Text))
	}
	if q.Level != "" {
		w.Add("r.level = ?", q.Level)
	}
	if q.Status != "" {
		w.Add("r.status = ?", q.Status)
	}
	from := "rules r JOIN rule_versions v ON v.id = r.version_id JOIN rule_sets s ON s.tenant_id = v.tenant_id AND s.name = v.name AND s.live = v.version"
	return list(ctx, db, "r.version_id, v.name, v.tenant_id, r.rule_id, r.title, r.level, r.status, r.kind, r.product, r.category, r.service, r.tags, r.path",
		from, &w, "v.tenant_id, v.name, r.path, r.seq", q.Page, func(rows *sql.Rows) (ruleset.Rule, error) {
			var r ruleset.Rule
			var tags string
			if err := rows.Scan(&r.VersionID, &r.Set, &r.TenantID, &r.RuleID, &r.Title, &r.Level, &r.Status, &r.Kind, &r.Product, &r.Category, &r.Service, &tags, &r.Path); err != nil {
				return r, err
			}
			return r, json.Unmarshal([]byte(tags), &r.Tags)
		})
}

// RuleSettings returns tenant's settings.
func (db *DB) RuleSettings(ctx context.Context, tenant string) (ruleset.Settings, error) {
	var data string
	var updated int64
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT data, updated FROM rule_settings WHERE tenant_id = ?"), tenant).Scan(&data, &updated)
	if err != nil {
		return ruleset.Settings{}, notFound(err, "rule settings of tenant", tenant)
	}
	var s ruleset.Settings
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return s, fmt.Errorf("rule settings of %s: %w", tenant, err)
	}
	s.TenantID, s.Updated = tenant, FromMicros(updated)
	return s, nil
}

// PutRuleSettings replaces tenant's settings with their audit entry.
func (db *DB) PutRuleSettings(ctx context.Context, s ruleset.Settings, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "INSERT INTO rule_settings (tenant_id, data, updated) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
			s.TenantID, jsonText(s), Micros(s.Updated)); err != nil {
			return fmt.Errorf("store rule settings of %s: %w", s.TenantID, err)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// DetectState returns tenant's saved detector state.
func (db *DB) DetectState(ctx context.Context, tenant string) ([]byte, error) {
	var data string
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT data FROM detect_state WHERE tenant_id = ?"), tenant).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("detector state of %s: %w", tenant, err)
	}
	return base64.StdEncoding.DecodeString(data)
}

// PutDetectState stores tenant's detector state.
func (db *DB) PutDetectState(ctx context.Context, tenant string, data []byte, at time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO detect_state (tenant_id, data, updated) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
			tenant, base64.StdEncoding.EncodeToString(data), Micros(at))
		if err != nil {
			return fmt.Errorf("store detector state of %s: %w", tenant, err)
		}
		return nil
	})
}
