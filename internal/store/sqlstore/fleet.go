package sqlstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tansa-sec/tansa/internal/access"
	"github.com/tansa-sec/tansa/internal/fleet"
	"github.com/tansa-sec/tansa/internal/intel/retro"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

var (
	_ fleet.Store = (*DB)(nil)
	// The stored sweeps are the sweep side of retro-hunts.
	_ retro.Index = (*DB)(nil)
)

// hostKey identifies an endpoint within a tenant.
func hostKey(hostname, domain string) string {
	return strings.ToLower(hostname) + "|" + strings.ToLower(domain)
}

// vidOf interns an artifact as a positive 63-bit hash of kind and value.
func vidOf(a fleet.Artifact) int64 {
	h := sha256.Sum256([]byte(a.Kind + "\x00" + a.Value))
	return int64(binary.BigEndian.Uint64(h[:8]) &^ (1 << 63))
}

func inList(n int) string { return "(" + placeholders(n) + ")" }

// sweepQueue gathers the sweeps that arrive while another batch is being
// written, so that concurrent uploads share one transaction: one commit
// (one fsync) and one write of the index pages they all touch — the
// prevalence counts of the artifacts every endpoint has — instead of one
// per sweep. On a shared disk the commit is what an upload waits for.
type sweepQueue struct {
	mu      sync.Mutex
	queue   []*sweepPut
	leading bool
}

type sweepPut struct {
	s    *fleet.StoredSweep
	a    tansa.AuditEntry
	done chan error
}

// maxSweepBatch bounds one transaction: a sweep writes a few thousand rows.
const maxSweepBatch = 32

// PutSweep implements fleet.Store. A caller finding no batch under way
// writes its own sweep with those queued meanwhile, and a goroutine goes on
// with what queues after, in batches of up to maxSweepBatch, each sweep
// under a savepoint so that one refused (a replay) or failing sweep leaves
// the others of its batch stored.
func (db *DB) PutSweep(ctx context.Context, s *fleet.StoredSweep, a tansa.AuditEntry) error {
	p := &sweepPut{s: s, a: a, done: make(chan error, 1)}
	q := &db.sweeps
	q.mu.Lock()
	q.queue = append(q.queue, p)
	if q.leading {
		q.mu.Unlock()
		return <-p.done
	}
	q.leading = true
	q.mu.Unlock()
	// The batch goes on if this caller's request ends: it writes others'.
	db.drainSweeps(context.WithoutCancel(ctx), true)
	return <-p.done
}

// drainSweeps writes the queued sweeps in batches until the queue is
// empty. The caller that became the writer has its own sweep in the first
// batch (the queue is empty whenever nobody is writing); after that batch
// it hands the rest to a goroutine, so that its upload is answered instead
// of serving others for as long as uploads keep coming.
func (db *DB) drainSweeps(ctx context.Context, first bool) {
	q := &db.sweeps
	for {
		q.mu.Lock()
		n := min(len(q.queue), maxSweepBatch)
		if n == 0 {
			q.leading = false
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.queue[:n])
		q.queue = slices.Delete(q.queue, 0, n)
		q.mu.Unlock()
		db.putSweeps(ctx, batch)
		if first {
			go db.drainSweeps(ctx, false)
			return
		}
	}
}

// putSweeps writes a batch in one transaction and tells each caller how
// its sweep fared. The prevalence counts and interned values of the whole
// batch are written once at its end: endpoints share most of their
// artifacts (system paths, hashes, services), so the batch's sweeps move
// far fewer distinct counts — the across-tenant ones above all — than the
// sum of theirs, and each is one write at one place in the B-tree.
//
// A replay is refused before anything of it is written, so the batch
// needs no savepoints for it; savepoints cost a copy of every page each
// sweep first changes (the statement journal). Only when a sweep fails
// after writing part of itself — which no valid sweep does — is the batch
// written again with each sweep under a savepoint, so that the others stay.
func (db *DB) putSweeps(ctx context.Context, batch []*sweepPut) {
	db.stmts.PrepareWanted(ctx)
	errs, err := db.writeSweeps(ctx, batch, false)
	if errors.Is(err, errSweepFailed) {
		errs, err = db.writeSweeps(ctx, batch, true)
	}
	for i, p := range batch {
		switch {
		case err != nil && errs[i] == nil:
			p.done <- err // the commit failed: nothing of the batch is stored
		default:
			p.done <- errs[i]
		}
	}
}

// errSweepFailed ends a batch written without savepoints in which a sweep
// failed half-written; putSweeps writes the batch again with them.
var errSweepFailed = errors.New("a sweep of the batch failed")

// writeSweeps writes batch in one transaction, each sweep under a
// savepoint when savepoints is set, and returns each sweep's error and the
// transaction's.
func (db *DB) writeSweeps(ctx context.Context, batch []*sweepPut, savepoints bool) ([]error, error) {
	errs := make([]error, len(batch))
	counts := newPrevalenceDeltas()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for i, p := range batch {
			var one int
			err := db.stmts.QueryRow(ctx, tx, "SELECT 1 FROM fleet_sweeps WHERE id = ?", p.s.Sweep.ID).Scan(&one)
			switch {
			case err == nil:
				errs[i] = tansa.Errorf(tansa.Conflict, "sweep %q already stored", p.s.Sweep.ID)
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("check sweep: %w", err)
			}
			d := newPrevalenceDeltas()
			if savepoints {
				if _, err := tx.ExecContext(ctx, "SAVEPOINT sweep"); err != nil {
					return err
				}
			}
			if errs[i] = db.putSweep(ctx, tx, p.s, p.a, d); errs[i] != nil {
				if len(batch) == 1 {
					return errs[i]
				}
				if !savepoints {
					return errSweepFailed
				}
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT sweep"); err != nil {
					return err
				}
			} else {
				// Only a sweep that stayed counts.
				counts.merge(d)
			}
			if savepoints {
				if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT sweep"); err != nil {
					return err
				}
			}
		}
		if err := db.writePrevalence(ctx, tx, counts); err != nil {
			return fmt.Errorf("prevalence: %w", err)
		}
		return nil
	})
	return errs, err
}

// prevKey is one prevalence count: an artifact in a tenant, or across
// tenants under tenant "".
type prevKey struct {
	tenant string
	vid    int64
}

// prevalenceDeltas gathers how the counts move and which values are new.
type prevalenceDeltas struct {
	n       map[prevKey]int
	kinds   map[int64]fleet.Artifact // every artifact counted up, to intern its value
	holders map[holder]int           // +1: the asset gained the artifact, -1: lost it
}

// holder is a row of fleet_artifacts: an asset holding an artifact.
type holder struct {
	vid   int64
	asset string
}

func newPrevalenceDeltas() *prevalenceDeltas {
	return &prevalenceDeltas{n: map[prevKey]int{}, kinds: map[int64]fleet.Artifact{}, holders: map[holder]int{}}
}

// add counts an asset of tenant gaining (+1) or losing (-1) artifact vid.
func (d *prevalenceDeltas) add(tenant string, vid int64, by int) {
	d.n[prevKey{tenant, vid}] += by
	d.n[prevKey{"", vid}] += by
}

func (d *prevalenceDeltas) merge(o *prevalenceDeltas) {
	for k, v := range o.n {
		d.n[k] += v
	}
	for k, v := range o.kinds {
		d.kinds[k] = v
	}
	for k, v := range o.holders {
		d.holders[k] += v
	}
}

// writePrevalence interns the new values, adds and removes holders and
// moves the counts, each in key order and once.
func (db *DB) writePrevalence(ctx context.Context, tx *sql.Tx, d *prevalenceDeltas) error {
	hs := make([]holder, 0, len(d.holders))
	for h, n := range d.holders {
		if n != 0 {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b holder) int {
		if c := cmp.Compare(a.vid, b.vid); c != 0 {
			return c
		}
		return strings.Compare(a.asset, b.asset)
	})
	var add [][]any
	var gone []holder
	for _, h := range hs {
		if d.holders[h] > 0 {
			add = append(add, []any{h.vid, h.asset})
		} else {
			gone = append(gone, h)
		}
	}
	if err := db.insertCached(ctx, tx, "INSERT INTO fleet_artifacts (vid, asset_id) VALUES ", " ON CONFLICT (vid, asset_id) DO NOTHING", 2, add); err != nil {
		return err
	}
	for _, h := range gone {
		if _, err := db.stmts.Exec(ctx, tx, "DELETE FROM fleet_artifacts WHERE vid = ? AND asset_id = ?", h.vid, h.asset); err != nil {
			return err
		}
	}
	vids := make([]int64, 0, len(d.kinds))
	for v := range d.kinds {
		vids = append(vids, v)
	}
	slices.Sort(vids)
	vals := make([][]any, len(vids))
	for i, v := range vids {
		a := d.kinds[v]
		vals[i] = []any{v, a.Kind, a.Value}
	}
	if err := db.insertCached(ctx, tx, "INSERT INTO fleet_values (vid, kind, value) VALUES ", " ON CONFLICT (vid) DO NOTHING", 3, vals); err != nil {
		return err
	}
	keys := make([]prevKey, 0, len(d.n))
	for k, n := range d.n {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b prevKey) int {
		if c := strings.Compare(a.tenant, b.tenant); c != 0 {
			return c
		}
		return cmp.Compare(a.vid, b.vid)
	})
	var up [][]any
	var down []prevKey
	for _, k := range keys {
		n := d.n[k]
		if n < 0 {
			down = append(down, k)
			continue
		}
		kind := d.kinds[k.vid].Kind
		up = append(up, []any{k.tenant, k.vid, kind, n})
	}
	if err := db.insertCached(ctx, tx, "INSERT INTO fleet_prevalence (tenant_id, vid, kind, assets) VALUES ",
		" ON CONFLICT (tenant_id, vid) DO UPDATE SET assets = fleet_prevalence.assets + excluded.assets", 4, up); err != nil {
		return err
	}
	// A count going down exists already (an asset had the artifact). An
	// artifact no endpoint has any more leaves the counts, so that the
	// rarest-first index holds only what exists.
	for _, k := range down {
		if _, err := db.stmts.Exec(ctx, tx, "UPDATE fleet_prevalence SET assets = assets + ? WHERE tenant_id = ? AND vid = ?", d.n[k], k.tenant, k.vid); err != nil {
			return err
		}
		if _, err := db.stmts.Exec(ctx, tx, "DELETE FROM fleet_prevalence WHERE tenant_id = ? AND vid = ? AND assets <= 0", k.tenant, k.vid); err != nil {
			return err
		}
	}
	return nil
}

// putSweep stores one sweep, which writeSweeps found new, inside tx; how it moves the prevalence counts
// goes into d, written with the rest of the batch's.
func (db *DB) putSweep(ctx context.Context, tx *sql.Tx, s *fleet.StoredSweep, a tansa.AuditEntry, d *prevalenceDeltas) error {
	as := s.Asset
	key := hostKey(as.Hostname, as.Domain)
	// Insert-if-absent then lock: two first sweeps of one new endpoint
	// arriving together end up on the same asset.
	if _, err := db.stmts.Exec(ctx, tx, `INSERT INTO fleet_assets (id, tenant_id, host_key, hostname, domain, created) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, host_key) DO NOTHING`,
		uuid.Must(uuid.NewV7()).String(), as.TenantID, key, as.Hostname, as.Domain, Micros(s.Sweep.Received)); err != nil {
		return fmt.Errorf("add asset: %w", err)
	}
	var assetID string
	var lastStarted int64
	if err := db.stmts.QueryRow(ctx, tx, "SELECT id, last_started FROM fleet_assets WHERE tenant_id = ? AND host_key = ?"+db.d.forUpdate(),
		as.TenantID, key).Scan(&assetID, &lastStarted); err != nil {
		return fmt.Errorf("find asset: %w", err)
	}
	s.Sweep.AssetID = assetID
	newest := Micros(s.Sweep.Started) >= lastStarted
	var err error
	if newest {
		_, err = db.stmts.Exec(ctx, tx, `UPDATE fleet_assets SET hostname = ?, os = ?, arch = ?, product = ?, version = ?, ips = ?,
			last_seen = ?, last_sweep = ?, last_started = ?, sweeps = sweeps + 1, findings = ?, max_score = ? WHERE id = ?`,
			as.Hostname, as.OS, as.Arch, as.Product, as.Version, jsonText(as.IPs), Micros(s.Sweep.Received), s.Sweep.ID,
			Micros(s.Sweep.Started), s.Sweep.Findings, s.Sweep.MaxScore, assetID)
	} else {
		_, err = db.stmts.Exec(ctx, tx, `UPDATE fleet_assets SET sweeps = sweeps + 1 WHERE id = ?`, assetID)
	}
	if err != nil {
		return fmt.Errorf("update asset: %w", err)
	}
	sw := s.Sweep
	if _, err := db.stmts.Exec(ctx, tx, `INSERT INTO fleet_sweeps (id, tenant_id, asset_id, hostname, campaign, started, finished, received, scanner, actor, bytes, findings, max_score, errors, sealed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sw.ID, sw.TenantID, assetID, sw.Hostname, sw.Campaign, Micros(sw.Started), Micros(sw.Finished), Micros(sw.Received),
		sw.Scanner, sw.Actor, sw.Bytes, sw.Findings, sw.MaxScore, sw.Errors, s.Sealed); err != nil {
		return db.conflict(err, "sweep %q already stored", sw.ID)
	}
	if newest {
		if _, err := db.stmts.Exec(ctx, tx, "UPDATE fleet_findings SET latest = 0 WHERE asset_id = ? AND latest = 1", assetID); err != nil {
			return fmt.Errorf("retire findings: %w", err)
		}
	}
	rows := make([][]any, 0, len(s.Findings))
	for i := range s.Findings {
		f := &s.Findings[i]
		f.AssetID = assetID
		rows = append(rows, []any{f.ID, f.TenantID, assetID, f.SweepID, f.Hostname, Micros(f.Time), f.Key, f.Finding.Score, b2i(newest), jsonText(f.Finding)})
	}
	if err := db.insertCached(ctx, tx, "INSERT INTO fleet_findings (id, tenant_id, asset_id, sweep_id, hostname, time, fkey, score, latest, data) VALUES ", "", 10, rows); err != nil {
		return fmt.Errorf("store findings: %w", err)
	}
	if newest {
		if err := db.replaceArtifacts(ctx, tx, as.TenantID, assetID, s.Artifacts, d); err != nil {
			return fmt.Errorf("artifacts: %w", err)
		}
	}
	// The observables are one row, appended in (tenant, time) order;
	// Observables holds no line breaks (hashes, addresses, host names).
	if len(s.Observables) > 0 {
		if _, err := db.stmts.Exec(ctx, tx, "INSERT INTO fleet_sweep_observables (tenant_id, time, sweep_id, vals) VALUES (?, ?, ?, ?)",
			sw.TenantID, Micros(sw.Started), sw.ID, strings.Join(s.Observables, "\n")); err != nil {
			return fmt.Errorf("observables: %w", err)
		}
	}
	return db.appendAudit(ctx, tx, a)
}

// replaceArtifacts makes arts the artifact set of asset, and records in d
// how the holders and prevalence counts move for what was added and
// removed. The set is one row, read and rewritten whole.
func (db *DB) replaceArtifacts(ctx context.Context, tx *sql.Tx, tenant, asset string, arts []fleet.Artifact, d *prevalenceDeltas) error {
	var oldText string
	err := db.stmts.QueryRow(ctx, tx, "SELECT vids FROM fleet_artsets WHERE asset_id = ?", asset).Scan(&oldText)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	old, err := parseVids(oldText)
	if err != nil {
		return fmt.Errorf("artifact set of %s: %w", asset, err)
	}
	cur := make(map[int64]bool, len(arts))
	ids := make([]int64, 0, len(arts))
	for _, a := range arts {
		v := vidOf(a)
		if cur[v] {
			continue
		}
		cur[v] = true
		ids = append(ids, v)
		if !old[v] {
			d.kinds[v] = a
			d.add(tenant, v, 1)
			d.holders[holder{v, asset}]++
		}
	}
	for v := range old {
		if !cur[v] {
			d.add(tenant, v, -1)
			d.holders[holder{v, asset}]--
		}
	}
	slices.Sort(ids)
	if _, err := db.stmts.Exec(ctx, tx, "INSERT INTO fleet_artsets (asset_id, vids) VALUES (?, ?) ON CONFLICT (asset_id) DO UPDATE SET vids = excluded.vids",
		asset, formatVids(ids)); err != nil {
		return err
	}
	return nil
}

// formatVids writes a set of vids as fleet_artsets.vids holds it.
func formatVids(ids []int64) string {
	b := make([]byte, 0, 17*len(ids))
	for i, v := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 16)
	}
	return string(b)
}

// parseVids reads fleet_artsets.vids.
func parseVids(s string) (map[int64]bool, error) {
	m := map[int64]bool{}
	for s != "" {
		var f string
		f, s, _ = strings.Cut(s, ",")
		v, err := strconv.ParseInt(f, 16, 64)
		if err != nil {
			return nil, err
		}
		m[v] = true
	}
	return m, nil
}

const assetCols = "id, tenant_id, hostname, domain, os, arch, product, version, ips, created, last_seen, last_sweep, sweeps, findings, max_score"

func scanAsset(row interface{ Scan(...any) error }) (fleet.Asset, error) {
	var a fleet.Asset
	var ips string
	var created, seen int64
	if err := row.Scan(&a.ID, &a.TenantID, &a.Hostname, &a.Domain, &a.OS, &a.Arch, &a.Product, &a.Version, &ips, &created, &seen, &a.LastSweep, &a.Sweeps, &a.Findings, &a.MaxScore); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(ips), &a.IPs); err != nil || a.IPs == nil {
		a.IPs = []string{}
	}
	a.Created, a.LastSeen = FromMicros(created), FromMicros(seen)
	return a, nil
}

// Asset implements fleet.Store.
func (db *DB) Asset(ctx context.Context, id string) (fleet.Asset, error) {
	a, err := scanAsset(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+assetCols+" FROM fleet_assets WHERE id = ?"), id))
	return a, notFound(err, "endpoint", id)
}

// Assets implements fleet.Store.
func (db *DB) Assets(ctx context.Context, q fleet.AssetQuery) ([]fleet.Asset, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.Text != "" {
		w.Add(`LOWER(hostname) LIKE ? ESCAPE '\'`, like(q.Text))
	}
	since := Micros(q.Since)
	switch q.Swept {
	case "recent":
		w.Add("last_seen >= ?", since)
	case "stale":
		w.Add("last_seen > 0 AND last_seen < ?", since)
	case "never":
		w.Add("last_seen = 0")
	}
	if q.Artifact != "" {
		vid, err := strconv.ParseInt(q.Artifact, 16, 64)
		if err != nil {
			return []fleet.Asset{}, 0, nil
		}
		w.Add("id IN (SELECT asset_id FROM fleet_artifacts WHERE vid = ?)", vid)
	}
	return list(ctx, db, assetCols, "fleet_assets", &w, "hostname, id", q.Page, func(r *sql.Rows) (fleet.Asset, error) { return scanAsset(r) })
}

// RegisterAssets implements fleet.Store.
func (db *DB) RegisterAssets(ctx context.Context, tenant string, hostnames []string, at time.Time, a tansa.AuditEntry) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		seen := map[string]bool{}
		var rows [][]any
		for _, h := range hostnames {
			name, domain, _ := strings.Cut(h, ".")
			k := hostKey(name, domain)
			if seen[k] {
				continue
			}
			seen[k] = true
			rows = append(rows, []any{uuid.Must(uuid.NewV7()).String(), tenant, k, name, domain, Micros(at)})
		}
		before := 0
		if err := tx.QueryRowContext(ctx, db.d.Q("SELECT COUNT(*) FROM fleet_assets WHERE tenant_id = ?"), tenant).Scan(&before); err != nil {
			return err
		}
		if err := db.insertCached(ctx, tx, "INSERT INTO fleet_assets (id, tenant_id, host_key, hostname, domain, created) VALUES ", " ON CONFLICT (tenant_id, host_key) DO NOTHING", 6, rows); err != nil {
			return fmt.Errorf("register endpoints: %w", err)
		}
		after := 0
		if err := tx.QueryRowContext(ctx, db.d.Q("SELECT COUNT(*) FROM fleet_assets WHERE tenant_id = ?"), tenant).Scan(&after); err != nil {
			return err
		}
		n = after - before
		return db.appendAudit(ctx, tx, a)
	})
	return n, err
}

const sweepCols = "id, tenant_id, asset_id, hostname, campaign, started, finished, received, scanner, actor, bytes, findings, max_score, errors"

func scanSweep(row interface{ Scan(...any) error }) (fleet.Sweep, error) {
	var s fleet.Sweep
	var st, fi, re int64
	err := row.Scan(&s.ID, &s.TenantID, &s.AssetID, &s.Hostname, &s.Campaign, &st, &fi, &re, &s.Scanner, &s.Actor, &s.Bytes, &s.Findings, &s.MaxScore, &s.Errors)
	s.Started, s.Finished, s.Received = FromMicros(st), FromMicros(fi), FromMicros(re)
	return s, err
}

// Sweep implements fleet.Store.
func (db *DB) Sweep(ctx context.Context, id string) (fleet.Sweep, error) {
	s, err := scanSweep(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+sweepCols+" FROM fleet_sweeps WHERE id = ?"), id))
	return s, notFound(err, "sweep", id)
}

// SweepSealed implements fleet.Store.
func (db *DB) SweepSealed(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT sealed FROM fleet_sweeps WHERE id = ?"), id).Scan(&b)
	return b, notFound(err, "sweep", id)
}

// Sweeps implements fleet.Store.
func (db *DB) Sweeps(ctx context.Context, q fleet.SweepQuery) ([]fleet.Sweep, int, error) {
	var w Where
	w.Scope("tenant_id", q.Scope)
	if q.AssetID != "" {
		w.Add("asset_id = ?", q.AssetID)
	}
	if q.Campaign != "" {
		w.Add("campaign = ?", q.Campaign)
	}
	return list(ctx, db, sweepCols, "fleet_sweeps", &w, "received DESC, id DESC", q.Page, func(r *sql.Rows) (fleet.Sweep, error) { return scanSweep(r) })
}

// Findings implements fleet.Store.
func (db *DB) Findings(ctx context.Context, q fleet.FindingQuery) ([]fleet.Finding, int, error) {
	var w Where
	w.Scope("f.tenant_id", q.Scope)
	switch {
	case q.SweepID != "":
		w.Add("f.sweep_id = ?", q.SweepID)
	case q.Key != "":
		w.Add("f.fkey = ?", q.Key)
	default:
		w.Add("f.latest = 1")
	}
	if q.AssetID != "" {
		w.Add("f.asset_id = ?", q.AssetID)
	}
	if q.MinScore > 0 {
		w.Add("f.score >= ?", q.MinScore)
	}
	from := "fleet_findings f LEFT JOIN fleet_verdicts v ON v.tenant_id = f.tenant_id AND v.fkey = f.fkey"
	return list(ctx, db, "f.id, f.tenant_id, f.asset_id, f.sweep_id, f.hostname, f.time, f.fkey, f.data, COALESCE(v.verdict, '')", from, &w,
		"f.score DESC, f.time DESC, f.id", q.Page, func(r *sql.Rows) (fleet.Finding, error) {
			var f fleet.Finding
			var t int64
			var data, verdict string
			if err := r.Scan(&f.ID, &f.TenantID, &f.AssetID, &f.SweepID, &f.Hostname, &t, &f.Key, &data, &verdict); err != nil {
				return f, err
			}
			f.Time, f.Verdict = FromMicros(t), fleet.Verdict(verdict)
			return f, json.Unmarshal([]byte(data), &f.Finding)
		})
}

// Coverage implements fleet.Store.
func (db *DB) Coverage(ctx context.Context, sc access.Scope, since time.Time) (fleet.Coverage, error) {
	var w Where
	w.Scope("tenant_id", sc)
	s := Micros(since)
	var c fleet.Coverage
	var recent, stale, never sql.NullInt64
	err := db.r.QueryRowContext(ctx, db.d.Q(`SELECT COUNT(*),
		SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN last_seen > 0 AND last_seen < ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN last_seen = 0 THEN 1 ELSE 0 END) FROM fleet_assets`+w.String()), append([]any{s, s}, w.Args...)...).Scan(&c.Total, &recent, &stale, &never)
	c.Recent, c.Stale, c.Never = int(recent.Int64), int(stale.Int64), int(never.Int64)
	return c, err
}

// Prevalence implements fleet.Store. One tenant, or all of them, reads its
// own counts through an index, rarest first; a set of tenants (a provider
// restricted to some) adds theirs up.
func (db *DB) Prevalence(ctx context.Context, q fleet.PrevalenceQuery) ([]fleet.Prevalence, int, error) {
	var w Where
	single := q.Scope.All || len(q.Scope.Tenants) == 1
	switch {
	case q.Scope.All:
		w.Add("p.tenant_id = ''")
	case len(q.Scope.Tenants) == 0:
		return []fleet.Prevalence{}, 0, nil
	default:
		w.Scope("p.tenant_id", access.Scope{Tenants: q.Scope.Tenants})
	}
	if q.Kind != "" {
		w.Add("p.kind = ?", q.Kind)
	}
	join := "fleet_prevalence p"
	if q.Text != "" {
		join += " JOIN fleet_values v ON v.vid = p.vid"
		w.Add(`LOWER(v.value) LIKE ? ESCAPE '\'`, like(q.Text))
	}
	scan := func(r *sql.Rows) (fleet.Prevalence, error) {
		var p fleet.Prevalence
		var vid int64
		err := r.Scan(&vid, &p.Kind, &p.Value, &p.Assets)
		p.ID = strconv.FormatInt(vid, 16)
		return p, err
	}
	if single {
		w.Add("p.assets > 0")
		// The page is chosen on the index first and joined to the values
		// after, so a deep page does not join every skipped row.
		var total int
		if err := db.r.QueryRowContext(ctx, db.d.Q("SELECT COUNT(*) FROM "+join+w.String()), w.Args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count prevalence: %w", err)
		}
		items := []fleet.Prevalence{}
		if q.Limit <= 0 || q.Offset >= total {
			return items, total, nil
		}
		if q.Kind == "" && q.Text == "" {
			// Every kind: the first offset+limit rows of each kind's
			// index, merged, so that the page never sorts the whole
			// fleet's artifacts (most of them on one endpoint each).
			var parts []string
			var args []any
			for _, k := range fleet.ArtifactKinds {
				parts = append(parts, "SELECT * FROM (SELECT p.vid, p.kind, p.assets FROM fleet_prevalence p"+w.String()+
					" AND p.kind = ? ORDER BY p.assets, p.vid LIMIT ?) p"+k)
				args = append(append(args, w.Args...), k, q.Offset+q.Limit)
			}
			qs := "SELECT p.vid, p.kind, vv.value, p.assets FROM (SELECT * FROM (" + strings.Join(parts, " UNION ALL ") +
				") u ORDER BY assets, vid LIMIT ? OFFSET ?) p JOIN fleet_values vv ON vv.vid = p.vid ORDER BY p.assets, p.vid"
			return collect(ctx, db, qs, append(args, q.Limit, q.Offset), total, scan)
		}
		qs := "SELECT p.vid, p.kind, vv.value, p.assets FROM (SELECT p.vid, p.kind, p.assets FROM " + join + w.String() +
			" ORDER BY p.assets, p.vid LIMIT ? OFFSET ?) p JOIN fleet_values vv ON vv.vid = p.vid ORDER BY p.assets, p.vid"
		return collect(ctx, db, qs, append(w.Args, q.Limit, q.Offset), total, scan)
	}
	group := " GROUP BY p.vid, p.kind HAVING SUM(p.assets) > 0"
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.Q("SELECT COUNT(*) FROM (SELECT p.vid FROM "+join+w.String()+group+") g"), w.Args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count prevalence: %w", err)
	}
	if q.Limit <= 0 || q.Offset >= total {
		return []fleet.Prevalence{}, total, nil
	}
	qs := "SELECT g.vid, g.kind, vv.value, g.n FROM (SELECT p.vid, p.kind, SUM(p.assets) AS n FROM " + join + w.String() + group +
		" ORDER BY n, p.vid LIMIT ? OFFSET ?) g JOIN fleet_values vv ON vv.vid = g.vid ORDER BY g.n, g.vid"
	return collect(ctx, db, qs, append(w.Args, q.Limit, q.Offset), total, scan)
}

func collect[T any](ctx context.Context, db *DB, q string, args []any, total int, scan func(*sql.Rows) (T, error)) ([]T, int, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q(q), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		items = append(items, v)
	}
	return items, total, rows.Err()
}

// ArtifactOf implements fleet.Store.
func (db *DB) ArtifactOf(ctx context.Context, id string) (fleet.Artifact, error) {
	vid, err := strconv.ParseInt(id, 16, 64)
	if err != nil {
		return fleet.Artifact{}, tansa.Errorf(tansa.NotFound, "artifact %q not found", id)
	}
	var a fleet.Artifact
	err = db.r.QueryRowContext(ctx, db.d.Q("SELECT kind, value FROM fleet_values WHERE vid = ?"), vid).Scan(&a.Kind, &a.Value)
	return a, notFound(err, "artifact", id)
}

// AddReview implements fleet.Store.
func (db *DB) AddReview(ctx context.Context, r fleet.Review, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "INSERT INTO fleet_reviews (id, tenant_id, fkey, verdict, comment, actor, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
			r.ID, r.TenantID, r.Key, string(r.Verdict), r.Comment, r.Actor, Micros(r.Time)); err != nil {
			return fmt.Errorf("add review: %w", err)
		}
		if r.Verdict != fleet.VerdictNone {
			if _, err := db.exec(ctx, tx, `INSERT INTO fleet_verdicts (tenant_id, fkey, verdict, time) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant_id, fkey) DO UPDATE SET verdict = excluded.verdict, time = excluded.time`,
				r.TenantID, r.Key, string(r.Verdict), Micros(r.Time)); err != nil {
				return fmt.Errorf("set verdict: %w", err)
			}
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// Reviews implements fleet.Store.
func (db *DB) Reviews(ctx context.Context, tenant, key string) ([]fleet.Review, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT id, tenant_id, fkey, verdict, comment, actor, time FROM fleet_reviews WHERE tenant_id = ? AND fkey = ? ORDER BY time, id"), tenant, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []fleet.Review{}
	for rows.Next() {
		var r fleet.Review
		var v string
		var t int64
		if err := rows.Scan(&r.ID, &r.TenantID, &r.Key, &v, &r.Comment, &r.Actor, &t); err != nil {
			return nil, err
		}
		r.Verdict, r.Time = fleet.Verdict(v), FromMicros(t)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Exceptions implements fleet.Store.
func (db *DB) Exceptions(ctx context.Context, tenant string) ([]result.Exception, error) {
	rows, err := db.r.QueryContext(ctx, db.d.Q("SELECT fkey FROM fleet_verdicts WHERE tenant_id = ? AND verdict = 'benign' ORDER BY fkey"), tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []result.Exception{}
	for rows.Next() {
		var e result.Exception
		if err := rows.Scan(&e.Key); err != nil {
			return nil, err
		}
		e.Reason = "reviewed benign"
		out = append(out, e)
	}
	return out, rows.Err()
}

const campaignCols = "id, tenant_id, name, start, period, created, creator"

func scanCampaign(row interface{ Scan(...any) error }) (fleet.Campaign, error) {
	var c fleet.Campaign
	var start, period, created int64
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &start, &period, &created, &c.Creator)
	c.Start, c.Interval, c.Created = FromMicros(start), time.Duration(period)*time.Microsecond, FromMicros(created)
	return c, err
}

// CreateCampaign implements fleet.Store.
func (db *DB) CreateCampaign(ctx context.Context, c fleet.Campaign, a tansa.AuditEntry) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "INSERT INTO fleet_campaigns ("+campaignCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.TenantID, c.Name, Micros(c.Start), c.Interval.Microseconds(), Micros(c.Created), c.Creator); err != nil {
			return db.conflict(err, "campaign %q exists", c.ID)
		}
		return db.appendAudit(ctx, tx, a)
	})
}

// Campaign implements fleet.Store.
func (db *DB) Campaign(ctx context.Context, id string) (fleet.Campaign, error) {
	c, err := scanCampaign(db.r.QueryRowContext(ctx, db.d.Q("SELECT "+campaignCols+" FROM fleet_campaigns WHERE id = ?"), id))
	return c, notFound(err, "campaign", id)
}

// Campaigns implements fleet.Store.
func (db *DB) Campaigns(ctx context.Context, sc access.Scope, p access.Page) ([]fleet.Campaign, int, error) {
	var w Where
	w.Scope("tenant_id", sc)
	return list(ctx, db, campaignCols, "fleet_campaigns", &w, "created DESC, id", p, func(r *sql.Rows) (fleet.Campaign, error) { return scanCampaign(r) })
}

// CampaignSwept implements fleet.Store.
func (db *DB) CampaignSwept(ctx context.Context, c fleet.Campaign, since time.Time) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, db.d.Q("SELECT COUNT(DISTINCT asset_id) FROM fleet_sweeps WHERE campaign = ? AND tenant_id = ? AND received >= ?"),
		c.ID, c.TenantID, Micros(since)).Scan(&n)
	return n, err
}

// Mentions implements retro.Index over stored sweep results: the sweeps
// of tenant started since l.Since whose observables (fleet.Observables)
// hold one of l.Values, newest first, at most l.Max per value, or start
// with one of l.Prefixes (a CIDR's whole octets), at most l.Max per
// prefix, newest first too. Each sweep's observables are one row
// (migration 00038): the tenant's sweeps in the window are read newest
// first in one query, so that a hunt sees one state of the store, and
// matched in memory; the read stops once every value and prefix has its
// l.Max mentions.
func (db *DB) Mentions(ctx context.Context, tenant string, l retro.Lookup) ([]retro.Mention, error) {
	limit := l.Max
	if limit <= 0 {
		limit = math.MaxInt
	}
	want := make(map[string]int, len(l.Values))
	for i, v := range l.Values {
		if _, dup := want[v]; !dup {
			want[v] = i
		}
	}
	var prefixes []int // the indexes of the non-empty prefixes
	for i, p := range l.Prefixes {
		if p != "" {
			prefixes = append(prefixes, i)
		}
	}
	if len(want) == 0 && len(prefixes) == 0 {
		return []retro.Mention{}, nil
	}
	exact := make([][]retro.Mention, len(l.Values))
	ranged := make([][]retro.Mention, len(l.Prefixes))
	open := len(want) + len(prefixes) // values and prefixes still short of limit
	rows, err := db.r.QueryContext(ctx, db.d.Q(`SELECT sweep_id, time, vals FROM fleet_sweep_observables
		WHERE tenant_id = ? AND time >= ? ORDER BY time DESC, sweep_id`), tenant, Micros(l.Since))
	if err != nil {
		return nil, fmt.Errorf("sweep mentions: %w", err)
	}
	defer rows.Close()
	for open > 0 && rows.Next() {
		var id, vals string
		var t int64
		if err := rows.Scan(&id, &t, &vals); err != nil {
			return nil, fmt.Errorf("sweep mentions: %w", err)
		}
		at := FromMicros(t)
		for v := range strings.SplitSeq(vals, "\n") {
			if i, ok := want[v]; ok && len(exact[i]) < limit {
				exact[i] = append(exact[i], retro.Mention{Value: v, Ref: id, Time: at})
				if len(exact[i]) == limit {
					open--
				}
			}
			for _, j := range prefixes {
				if len(ranged[j]) < limit && strings.HasPrefix(v, l.Prefixes[j]) {
					ranged[j] = append(ranged[j], retro.Mention{Value: v, Ref: id, Time: at})
					if len(ranged[j]) == limit {
						open--
					}
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sweep mentions: %w", err)
	}
	out := []retro.Mention{}
	for _, v := range l.Values {
		out = append(out, exact[want[v]]...)
	}
	for _, j := range prefixes {
		out = append(out, ranged[j]...)
	}
	return out, nil
}
