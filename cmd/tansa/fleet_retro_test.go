package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
)

// TestSweepRetroHuntEndToEnd runs the binary's serve command: a scanner
// uploads a sweep whose process hash and hosts-file name become known bad
// only afterwards; importing them starts a retro-hunt that finds the
// stored sweep, records sightings on the indicators, lists the sweep as
// the hunt's hit, and raises a retro alert per indicator. Another tenant's sweep with the same values stays
// out of it.
func TestSweepRetroHuntEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(map[string]string{"TANSA_ADMIN_PASSWORD": adminPassword})
	srv := startServe(t, dir, getenv)
	mk := func(args ...string) string {
		t.Helper()
		out, errOut, err := runCmd(t, getenv, append(args, "--data", dir)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return strings.TrimSpace(out)
	}
	tenant := mk("tenant", "create", "--name", "Retro Trading")
	other := mk("tenant", "create", "--name", "Other Retro Trading")
	scanner := mk("token", "create", "--role", "scanner", "--tenant", tenant, "--name", "cron package")
	otherScanner := mk("token", "create", "--role", "scanner", "--tenant", other, "--name", "cron package")
	admin := mk("token", "create", "--role", "tenant-admin", "--tenant", tenant, "--name", "csirt")

	c := newClient(t, srv.base)
	c.auth = "Bearer " + admin
	var key struct{ Recipient string }
	c.getJSON("/api/v1/fleet/key", &key)
	rcpt, err := age.ParseX25519Recipient(key.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	const implant = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
	upload := func(token, host string) string {
		t.Helper()
		id := fmt.Sprintf("%032x", time.Now().UnixNano())
		now := time.Now().UTC()
		r := &result.Result{Schema: result.SchemaVersion, SweepID: id, Started: now.Add(-time.Minute), Finished: now, Host: result.Host{Hostname: host, OS: "linux"},
			Processes:   []result.Process{{PID: 4711, Name: "kworker/u8", Path: "/dev/shm/.k/kworker", SHA256: strings.ToUpper(implant)}},
			Connections: []result.Connection{{Protocol: "tcp", LocalAddr: "10.0.0.5", LocalPort: 51234, RemoteAddr: "198.51.100.23", RemotePort: 443, State: "ESTABLISHED", PID: 4711}},
			DNS:         []result.DNSEntry{{Name: "Update.Evil-CDN.example", Address: "198.51.100.23", Source: "hosts"}}}
		r.Normalize()
		doc, _ := json.Marshal(r)
		sealed, err := scan.Seal(doc, rcpt)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", srv.base+"/api/v1/sweeps", bytes.NewReader(sealed))
		req.Header.Set("Content-Type", scan.ContentType)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if b, _ := io.ReadAll(res.Body); res.StatusCode != 201 {
			t.Fatalf("upload: %d %s", res.StatusCode, b)
		}
		return id
	}
	sweep := upload(scanner, "build-srv-02")
	upload(otherScanner, "build-srv-99")

	// The indicators arrive later, as a plain list imported by the CSIRT.
	if code, body := c.do("POST", "/api/v1/intel/import?format=text&source=ir-report", "text/plain", implant+"\nupdate.evil-cdn.example\n"); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	var hunts struct {
		Items []struct {
			ID, Status, Error string
			Hits              int
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c.getJSON("/api/v1/intel/hunts", &hunts)
		if len(hunts.Items) == 1 && hunts.Items[0].Status == "done" {
			break
		}
		if len(hunts.Items) > 0 && hunts.Items[0].Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("hunts: %+v", hunts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if hunts.Items[0].Hits != 2 {
		t.Errorf("hunt found %d mentions, want 2 (the hash and the name in tenant %s's one sweep)", hunts.Items[0].Hits, tenant)
	}
	// Each indicator found in the stored sweep is a retro alert.
	var alerts struct {
		Items []struct {
			Kind    string
			Context json.RawMessage
		}
	}
	c.getJSON("/api/v1/alerts?limit=50", &alerts)
	retros := 0
	for _, a := range alerts.Items {
		if a.Kind == "retro" {
			retros++
			if !strings.Contains(string(a.Context), "sweeps") {
				t.Errorf("retro alert context %s does not say it was found in stored sweeps", a.Context)
			}
		}
	}
	if retros != 2 {
		t.Errorf("%d retro alerts, want 2 (the hash and the name)", retros)
	}
	for _, value := range []string{implant, "update.evil-cdn.example"} {
		var inds struct{ Items []struct{ ID, Value string } }
		c.getJSON("/api/v1/intel/indicators?q="+url.QueryEscape(value), &inds)
		if len(inds.Items) != 1 {
			t.Fatalf("indicators for %s: %+v", value, inds)
		}
		var hits struct {
			Items []struct{ Source, Ref, Value string }
			Total int
		}
		c.getJSON("/api/v1/intel/indicators/"+inds.Items[0].ID+"/hits", &hits)
		if hits.Total != 1 || hits.Items[0].Source != "sweeps" || hits.Items[0].Ref != sweep || hits.Items[0].Value != value {
			t.Errorf("hits of %s = %+v; want tenant %s's sweep %s only", value, hits, tenant, sweep)
		}
		var ind struct {
			Sightings []struct {
				Where string
				Count int
			}
		}
		c.getJSON("/api/v1/intel/indicators/"+inds.Items[0].ID, &ind)
		if len(ind.Sightings) != 1 || ind.Sightings[0].Where != "retro-hunt sweeps" || ind.Sightings[0].Count != 1 {
			t.Errorf("sightings of %s = %+v", value, ind.Sightings)
		}
	}
}
