package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, a tansa.AuditEntry) error {
	_, err := db.stmts.Exec(ctx, tx, `INSERT INTO audit (time, tenant_id, actor, addr, action, object_type, object_id, before_json, after_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		Micros(a.Time), a.TenantID, a.Actor, a.Addr, a.Action, a.ObjectType, a.ObjectID, string(a.Before), string(a.After))
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// AppendAudit adds one audit entry.
func (db *DB) AppendAudit(ctx context.Context, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return db.appendAudit(ctx, tx, a) })
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// ---- tenants

const tenantCols = "id, name, country, language, time_zone, contacts, retention_days, created, updated"

func scanTenant(row interface{ Scan(...any) error }) (tansa.Tenant, error) {
	var t tansa.Tenant
	var contacts string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Name, &t.Country, &t.Language, &t.TimeZone, &contacts, &t.RetentionDays, &created, &updated); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(contacts), &t.Contacts); err != nil {
		return t, fmt.Errorf("tenant %s contacts: %w", t.ID, err)
	}
	if t.Contacts == nil {
		t.Contacts = []tansa.Contact{}
	}
	t.Created, t.Updated = FromMicros(created), FromMicros(updated)
	return t, nil
}

// CreateTenant stores a new tenant and its audit entry.
func (db *DB) CreateTenant(ctx context.Context, t tansa.Tenant, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO tenants ("+tenantCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, t.Country, t.Language, t.TimeZone, jsonText(t.Contacts), t.RetentionDays, Micros(t.Created), Micros(t.Updated))
		if err != nil {
			return db.conflict(err, "a tenant named %q exists already", t.Name)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// UpdateTenant replaces tenant t.ID and stores the audit entry.
func (db *DB) UpdateTenant(ctx context.Context, t tansa.Tenant, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE tenants SET name = ?, country = ?, language = ?, time_zone = ?, contacts = ?, retention_days = ?, updated = ? WHERE id = ?",
			t.Name, t.Country, t.Language, t.TimeZone, jsonText(t.Contacts), t.RetentionDays, Micros(t.Updated), t.ID)
		if err != nil {
			return db.conflict(err, "a tenant named %q exists already", t.Name)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "tenant %q not found", t.ID)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// Tenant returns tenant id.
func (db *DB) Tenant(ctx context.Context, id string) (tansa.Tenant, error) {
	t, err := scanTenant(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+tenantCols+" FROM tenants WHERE id = ?"), id))
	return t, notFound(err, "tenant", id)
}

// Tenants lists tenants by name, ignoring case.
func (db *DB) Tenants(ctx context.Context, q access.TenantQuery) ([]tansa.Tenant, int, error) {
	var w Where
	w.Scope("id", access.Scope{All: q.Scope.All, Tenants: q.Scope.Tenants})
	if q.Text != "" {
		w.Add(`LOWER(name) LIKE ? ESCAPE '\'`, like(q.Text))
	}
	return list(ctx, db, tenantCols, "tenants", &w, "LOWER(name), name, id", q.Page, func(r *sql.Rows) (tansa.Tenant, error) { return scanTenant(r) })
}

// ---- users

const userCols = "id, username, name, email, role, tenant_id, tenants, language, time_zone, disabled, password_hash, failed_logins, locked_until, last_login, created, updated"

func scanUser(row interface{ Scan(...any) error }) (tansa.User, error) {
	var u tansa.User
	var tenants string
	var disabled int
	var locked, last, created, updated int64
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Role, &u.TenantID, &tenants, &u.Language, &u.TimeZone,
		&disabled, &u.PasswordHash, &u.FailedLogins, &locked, &last, &created, &updated); err != nil {
		return u, err
	}
	if err := json.Unmarshal([]byte(tenants), &u.Tenants); err != nil {
		return u, fmt.Errorf("user %s tenants: %w", u.ID, err)
	}
	u.Disabled = disabled != 0
	u.LockedUntil, u.LastLogin, u.Created, u.Updated = FromMicros(locked), FromMicros(last), FromMicros(created), FromMicros(updated)
	return u, nil
}

func userArgs(u tansa.User) []any {
	return []any{u.Username, u.Name, u.Email, string(u.Role), u.TenantID, jsonText(u.Tenants), u.Language, u.TimeZone,
		b2i(u.Disabled), u.PasswordHash, u.FailedLogins, Micros(u.LockedUntil), Micros(u.LastLogin), Micros(u.Created), Micros(u.Updated)}
}

// CreateUser stores a new user and its audit entry.
func (db *DB) CreateUser(ctx context.Context, u tansa.User, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO users ("+userCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			append([]any{u.ID}, userArgs(u)...)...)
		if err != nil {
			return db.conflict(err, "a user named %q exists already", u.Username)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// UpdateUser replaces user u.ID and stores the audit entry.
func (db *DB) UpdateUser(ctx context.Context, u tansa.User, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE users SET username = ?, name = ?, email = ?, role = ?, tenant_id = ?, tenants = ?,
			language = ?, time_zone = ?, disabled = ?, password_hash = ?, failed_logins = ?, locked_until = ?, last_login = ?,
			created = ?, updated = ? WHERE id = ?`, append(userArgs(u), u.ID)...)
		if err != nil {
			return db.conflict(err, "a user named %q exists already", u.Username)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "user %q not found", u.ID)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// RecordLogin stores a login attempt's outcome.
func (db *DB) RecordLogin(ctx context.Context, id string, failed int, lockedUntil, lastLogin time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "UPDATE users SET failed_logins = ?, locked_until = ?, last_login = ? WHERE id = ?",
			failed, Micros(lockedUntil), Micros(lastLogin), id)
		return err
	})
}

// User returns user id.
func (db *DB) User(ctx context.Context, id string) (tansa.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+userCols+" FROM users WHERE id = ?"), id))
	return u, notFound(err, "user", id)
}

// UserByName returns the user called username.
func (db *DB) UserByName(ctx context.Context, username string) (tansa.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+userCols+" FROM users WHERE username = ?"), username))
	return u, notFound(err, "user", username)
}

// Users lists users by username.
func (db *DB) Users(ctx context.Context, q access.UserQuery) ([]tansa.User, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.Text != "" {
		l := like(q.Text)
		// Usernames are lower-case by validation, so they need no LOWER.
		w.Add(`(username LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\')`, l, l, l)
	}
	if q.Role != "" {
		w.Add("role = ?", string(q.Role))
	}
	return list(ctx, db, userCols, "users", &w, "username", q.Page, func(r *sql.Rows) (tansa.User, error) { return scanUser(r) })
}

// ---- tokens

const tokenCols = "id, name, role, tenant_id, tenants, hash, prefix, created, creator, last_used, revoked, expires"

func scanToken(row interface{ Scan(...any) error }) (tansa.Token, error) {
	var t tansa.Token
	var tenants string
	var created, last, revoked, expires int64
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.TenantID, &tenants, &t.Hash, &t.Prefix, &created, &t.Creator, &last, &revoked, &expires); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(tenants), &t.Tenants); err != nil {
		return t, fmt.Errorf("token %s tenants: %w", t.ID, err)
	}
	t.Created, t.LastUsed, t.Revoked, t.Expires = FromMicros(created), FromMicros(last), FromMicros(revoked), FromMicros(expires)
	return t, nil
}

// CreateToken stores a new token and its audit entry.
func (db *DB) CreateToken(ctx context.Context, t tansa.Token, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO tokens ("+tokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, string(t.Role), t.TenantID, jsonText(t.Tenants), t.Hash, t.Prefix, Micros(t.Created), t.Creator,
			Micros(t.LastUsed), Micros(t.Revoked), Micros(t.Expires))
		if err != nil {
			return db.conflict(err, "token %q exists already", t.ID)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// RevokeToken marks token id revoked at at and stores the audit entry.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE tokens SET revoked = ? WHERE id = ?", Micros(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "token %q not found", id)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// Token returns token id.
func (db *DB) Token(ctx context.Context, id string) (tansa.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+tokenCols+" FROM tokens WHERE id = ?"), id))
	return t, notFound(err, "token", id)
}

// TokenByHash returns the token whose secret hashes to hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (tansa.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+tokenCols+" FROM tokens WHERE hash = ?"), hash))
	return t, notFound(err, "token", "")
}

// Tokens lists tokens, newest first.
func (db *DB) Tokens(ctx context.Context, q access.TokenQuery) ([]tansa.Token, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	return list(ctx, db, tokenCols, "tokens", &w, "created DESC, id DESC", q.Page, func(r *sql.Rows) (tansa.Token, error) { return scanToken(r) })
}

// TouchToken records that token id was used at at.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "UPDATE tokens SET last_used = ? WHERE id = ?", Micros(at), id)
		return err
	})
}

// ---- sessions

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s tansa.Session) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO sessions (hash, user_id, created, last_seen, addr, tenant_id) VALUES (?, ?, ?, ?, ?, ?)",
			s.Hash, s.UserID, Micros(s.Created), Micros(s.LastSeen), s.Addr, s.TenantID)
		return db.conflict(err, "session exists already")
	})
}

// Session returns the session whose cookie hashes to hash.
func (db *DB) Session(ctx context.Context, hash string) (tansa.Session, error) {
	var s tansa.Session
	var created, last int64
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT hash, user_id, created, last_seen, addr, tenant_id FROM sessions WHERE hash = ?"), hash).
		Scan(&s.Hash, &s.UserID, &created, &last, &s.Addr, &s.TenantID)
	s.Created, s.LastSeen = FromMicros(created), FromMicros(last)
	return s, notFound(err, "session", "")
}

// UpdateSession stores a session's last-seen time and chosen tenant.
func (db *DB) UpdateSession(ctx context.Context, s tansa.Session) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "UPDATE sessions SET last_seen = ?, tenant_id = ? WHERE hash = ?", Micros(s.LastSeen), s.TenantID, s.Hash)
		return err
	})
}

// DeleteSession removes one session.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "DELETE FROM sessions WHERE hash = ?", hash)
		return err
	})
}

// DeleteSessions removes a user's sessions, or the expired ones.
func (db *DB) DeleteSessions(ctx context.Context, userID string, idleBefore, createdBefore time.Time) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if userID != "" {
			res, err = db.exec(ctx, tx, "DELETE FROM sessions WHERE user_id = ?", userID)
		} else {
			res, err = db.exec(ctx, tx, "DELETE FROM sessions WHERE last_seen < ? OR created < ?", Micros(idleBefore), Micros(createdBefore))
		}
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// ---- audit

const auditCols = "id, time, tenant_id, actor, addr, action, object_type, object_id, before_json, after_json"

// Audit lists audit entries, newest first.
func (db *DB) Audit(ctx context.Context, q access.AuditQuery) ([]tansa.AuditEntry, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	switch {
	case q.Action == "":
	case q.Action[len(q.Action)-1] == '.':
		// A range rather than LIKE or SUBSTR: it reads the (action, id)
		// index, and it is case-sensitive on both engines, as the exact
		// match is. Actions are ASCII below DEL, so every action with the
		// prefix sorts below prefix+DEL.
		w.Add("action >= ? AND action < ?", q.Action, q.Action+"\x7f")
	default:
		w.Add("action = ?", q.Action)
	}
	if q.Actor != "" {
		w.Add("actor = ?", q.Actor)
	}
	if q.ObjectID != "" {
		w.Add("object_id = ?", q.ObjectID)
	}
	if !q.Since.IsZero() {
		w.Add("time >= ?", Micros(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("time < ?", Micros(q.Until))
	}
	if db.d.DenseIDs && len(w.Conds) == 0 {
		// The whole log: its highest ID is its size, read from the index in
		// microseconds where COUNT(*) reads a million rows.
		w.CountSQL = "SELECT COALESCE(MAX(id), 0) FROM audit"
	}
	return list(ctx, db, auditCols, "audit", &w, "id DESC", q.Page, func(r *sql.Rows) (tansa.AuditEntry, error) {
		var a tansa.AuditEntry
		var t int64
		var before, after string
		err := r.Scan(&a.ID, &t, &a.TenantID, &a.Actor, &a.Addr, &a.Action, &a.ObjectType, &a.ObjectID, &before, &after)
		a.Time = FromMicros(t)
		if before != "" {
			a.Before = []byte(before)
		}
		if after != "" {
			a.After = []byte(after)
		}
		return a, err
	})
}

// Counts returns the number of rows in each of the access tables, for the
// server's metrics. The audit log is counted by its highest ID, which costs
// nothing on a large log. On SQLite it is exact, because the log is
// append-only and a rolled-back append gives its ID back. On PostgreSQL it
// is an upper bound: a sequence value spent by a rolled-back append is never
// reused, and a crash may skip up to 32 of them.
func (db *DB) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, q := range []struct{ name, sql string }{
		{"tenants", "SELECT COUNT(*) FROM tenants"},
		{"users", "SELECT COUNT(*) FROM users"},
		{"tokens", "SELECT COUNT(*) FROM tokens"},
		{"sessions", "SELECT COUNT(*) FROM sessions"},
		{"audit", "SELECT COALESCE(MAX(id), 0) FROM audit"},
	} {
		var n int64
		if err := db.r.QueryRowContext(ctx, q.sql).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", q.name, err)
		}
		out[q.name] = n
	}
	return out, nil
}
