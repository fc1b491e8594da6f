package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tansa-sec/tansa/internal/intel/feeds"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var _ feeds.Store = (*DB)(nil)

const feedCols = "id, tenant_id, name, kind, source, format, secret, interval_s, flags, cursor, last_pull, last_status, last_error, last_result, next_pull, created, updated"

func scanFeed(row interface{ Scan(...any) error }) (feeds.Feed, error) {
	var f feeds.Feed
	var interval, lastPull, nextPull, created, updated int64
	var enabled int
	var result string
	if err := row.Scan(&f.ID, &f.TenantID, &f.Name, &f.Kind, &f.Source, &f.Format, &f.Secret, &interval, &enabled, &f.Cursor,
		&lastPull, &f.LastStatus, &f.LastError, &result, &nextPull, &created, &updated); err != nil {
		return f, err
	}
	f.Interval = time.Duration(interval) * time.Second
	f.Enabled = enabled&1 != 0
	f.Restricted = enabled&2 != 0
	if result != "" {
		f.LastResult = &feeds.Summary{}
		if err := json.Unmarshal([]byte(result), f.LastResult); err != nil {
			return f, fmt.Errorf("feed %s result: %w", f.ID, err)
		}
	}
	f.LastPull, f.NextPull, f.Created, f.Updated = FromMicros(lastPull), FromMicros(nextPull), FromMicros(created), FromMicros(updated)
	return f, nil
}

// feedArgs returns f's columns in feedCols order. The flags column
// holds two flags: 1 enabled, 2 restricted.
func feedArgs(f feeds.Feed) []any {
	result := ""
	if f.LastResult != nil {
		b, _ := json.Marshal(f.LastResult)
		result = string(b)
	}
	flags := b2i(f.Enabled) | b2i(f.Restricted)<<1
	return []any{f.ID, f.TenantID, f.Name, string(f.Kind), f.Source, string(f.Format), f.Secret, int64(f.Interval / time.Second), flags,
		f.Cursor, Micros(f.LastPull), f.LastStatus, f.LastError, result, Micros(f.NextPull), Micros(f.Created), Micros(f.Updated)}
}

// CreateFeed stores a new feed.
func (db *DB) CreateFeed(ctx context.Context, f feeds.Feed) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO intel_feeds ("+feedCols+") VALUES ("+placeholders(17)+")", feedArgs(f)...)
		return err
	})
}

// Feed returns one feed.
func (db *DB) Feed(ctx context.Context, id string) (feeds.Feed, error) {
	f, err := scanFeed(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+feedCols+" FROM intel_feeds WHERE id = ?"), id))
	return f, notFound(err, "feed", id)
}

// Feeds lists feeds by name.
func (db *DB) Feeds(ctx context.Context, q feeds.Query) ([]feeds.Feed, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	return list(ctx, db, feedCols, "intel_feeds", &w, "name, id", q.Page, func(r *sql.Rows) (feeds.Feed, error) { return scanFeed(r) })
}

// UpdateFeed stores a feed's configuration and pull state.
func (db *DB) UpdateFeed(ctx context.Context, f feeds.Feed) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		args := feedArgs(f)
		res, err := db.exec(ctx, tx, `UPDATE intel_feeds SET tenant_id = ?, name = ?, kind = ?, source = ?, format = ?, secret = ?, interval_s = ?,
			flags = ?, cursor = ?, last_pull = ?, last_status = ?, last_error = ?, last_result = ?, next_pull = ?, created = ?, updated = ? WHERE id = ?`,
			append(args[1:], args[0])...)
		if err != nil {
			return fmt.Errorf("update feed %s: %w", f.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "feed %q not found", f.ID)
		}
		return nil
	})
}

// DeleteFeed removes a feed.
func (db *DB) DeleteFeed(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "DELETE FROM intel_feeds WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tansa.Errorf(tansa.NotFound, "feed %q not found", id)
		}
		return nil
	})
}

// DueFeeds returns the enabled feeds due at now, the longest waiting first.
func (db *DB) DueFeeds(ctx context.Context, now time.Time) ([]feeds.Feed, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT "+feedCols+" FROM intel_feeds WHERE next_pull <= ? AND flags IN (1, 3) ORDER BY next_pull, id"), Micros(now))
	if err != nil {
		return nil, fmt.Errorf("due feeds: %w", err)
	}
	defer rows.Close()
	var out []feeds.Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
