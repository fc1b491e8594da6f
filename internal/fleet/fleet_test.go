package fleet

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tansa-sec/tansa/internal/scan"
	"github.com/tansa-sec/tansa/internal/scan/result"
	"github.com/tansa-sec/tansa/internal/tansa"
)

func testService(t testing.TB) *Service {
	k, err := LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(nil, nil, Options{Keys: k, MaxResult: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadKeysKeepsKeys(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKeys(dir)
	if err != nil || a.Recipient() != b.Recipient() || a.SignerPublic() != b.SignerPublic() {
		t.Fatalf("second start: %v; keys changed", err)
	}
}

func TestArtifactsFoldUserFolders(t *testing.T) {
	r := &result.Result{Processes: []result.Process{{Path: `C:\Users\alice\AppData\Local\app.exe`}, {Path: `C:\Users\bob\AppData\Local\app.exe`}, {Path: "/home/carol/bin/x"}},
		Persistence: []result.Persistence{{Kind: "service", Name: "sshd", Command: "/usr/sbin/sshd -D"}, {Kind: "cron", Command: "/tmp/x.sh"}}}
	got := map[Artifact]bool{}
	for _, a := range Artifacts(r) {
		got[a] = true
	}
	for _, want := range []Artifact{{KindProcess, `C:\Users\*\AppData\Local\app.exe`}, {KindProcess, "/home/*/bin/x"},
		{KindService, "service: sshd → /usr/sbin/sshd -D"}, {KindAutorun, "cron:  → /tmp/x.sh"}} {
		if !got[want] {
			t.Errorf("missing %+v in %+v", want, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d artifacts, want 4 (alice's and bob's app fold into one)", len(got))
	}
}

// FuzzOpen feeds arbitrary uploads to the decoder every upload goes
// through: it must never panic, must refuse with a kind the HTTP edge maps
// to a 4xx, and what it accepts must validate or be refused by Validate.
func FuzzOpen(f *testing.F) {
	s := testService(f)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	r := &result.Result{Schema: 1, SweepID: "0123456789abcdef0123456789abcdef", Started: now, Finished: now, Host: result.Host{Hostname: "pc"}}
	r.Normalize()
	doc, _ := json.Marshal(r)
	good, _ := scan.Seal(doc, s.opt.Keys.Identity.Recipient())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n"))
	f.Add([]byte(`{"schema":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := s.Open(b)
		if err != nil {
			if k := tansa.KindOf(err); k != tansa.Invalid && k != tansa.TooLarge {
				t.Fatalf("kind %v for %v", k, err)
			}
			return
		}
		_ = Validate(r)
		if !bytes.Equal(b, good) && r.SweepID == "" && Validate(r) == nil {
			t.Fatal("an empty result validated")
		}
	})
}
