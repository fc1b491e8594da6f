package winevt

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"github.com/tansa-sec/tansa/internal/shareddata"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"www.velocidex.com/golang/evtx"

	"github.com/tansa-sec/tansa/internal/tansa"
)

func evtxFiles(t testing.TB, dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

func checkTypes(t *testing.T, e *tansa.Event) {
	t.Helper()
	for k, v := range e.Fields {
		switch v.(type) {
		case nil, string, int64, float64, bool, []string:
		default:
			t.Fatalf("field %s has type %T", k, v)
		}
	}
}

// TestReadAllSampleEVTX decodes every shared sample file: no file may fail,
// no record may be lost, and every value must have an allowed type.
func TestReadAllSampleEVTX(t *testing.T) {
	files := evtxFiles(t, shareddata.Path(t, "evtx"))
	total := 0
	// compare_evtxexport.sh sets this to collect per-file counts.
	var counts *os.File
	if out := os.Getenv("TANSA_EVTX_COUNTS_OUT"); out != "" {
		var err error
		if counts, err = os.Create(out); err != nil {
			t.Fatal(err)
		}
		defer counts.Close()
	}
	for _, f := range files {
		st, err := ReadEVTXFile(f, Options{TenantID: "t1"}, func(e *tansa.Event) error {
			checkTypes(t, e)
			if e.Time.IsZero() || e.ID == "" || len(e.Raw) == 0 {
				t.Fatalf("%s: event without time, id or raw", f)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if st.Failed > 0 {
			t.Errorf("%s: %d records failed: %v", f, st.Failed, st.Failures)
		}
		total += st.Events
		if counts != nil {
			fmt.Fprintf(counts, "%d\t%d\t%s\n", st.Events, st.Failed, f)
		}
	}
	t.Logf("%d files, %d events", len(files), total)
}

// golden renders selected events for comparison with testdata/*.golden.
func golden(e *tansa.Event) string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s\n", e.Time.Format(time.RFC3339Nano))
	for _, k := range keys {
		v, _ := json.Marshal(e.Fields[k])
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

func TestGoldenEVTX(t *testing.T) {
	cases := []struct{ file, golden string }{
		{"evtx/DeepBlueCLI/Powershell-Invoke-Obfuscation-many.evtx", "powershell.golden"},
		{"evtx/DeepBlueCLI/new-user-security.evtx", "security4720.golden"},
	}
	for _, c := range cases {
		path := shareddata.Path(t, c.file)
		var got string
		_, err := ReadEVTXFile(path, Options{}, func(e *tansa.Event) error {
			if got == "" {
				got = golden(e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		gp := filepath.Join("testdata", c.golden)
		if os.Getenv("UPDATE_GOLDEN") != "" {
			os.WriteFile(gp, []byte(got), 0o644)
		}
		want, err := os.ReadFile(gp)
		if err != nil {
			t.Fatalf("golden %s: %v (run with UPDATE_GOLDEN=1 to create)", gp, err)
		}
		if got != string(want) {
			t.Errorf("%s: output differs from %s:\n%s", c.file, gp, got)
		}
	}
}

// TestCorruptEVTX damages chunks of a real file in memory: reading must
// not panic, must report failures, and must keep the undamaged chunks.
func TestCorruptEVTX(t *testing.T) {
	files := evtxFiles(t, shareddata.Path(t, "evtx"))
	var src []byte
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 4*chunkSize {
			src, _ = os.ReadFile(f)
			break
		}
	}
	if src == nil {
		t.Skip("no sample with several chunks")
	}
	clean, err := ReadEVTX(bytes.NewReader(src), Options{}, func(*tansa.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for seed := 0; seed < 20; seed++ {
		b := bytes.Clone(src)
		// Scribble over the body of the first chunk.
		for i := 0x1000 + 0x200 + seed*97; i < 0x1000+chunkSize; i += 13 + seed {
			b[i] ^= byte(0x5a + seed)
		}
		st, err := ReadEVTX(bytes.NewReader(b), Options{}, func(*tansa.Event) error { return nil })
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if st.Events+st.Failed < clean.Events/2 {
			t.Errorf("seed %d: only %d events and %d failures of %d", seed, st.Events, st.Failed, clean.Events)
		}
	}
	if _, err := ReadEVTX(bytes.NewReader([]byte("not an evtx file at all")), Options{}, nil); err == nil {
		t.Error("garbage accepted as EVTX")
	}
}

func TestParseJSONLayouts(t *testing.T) {
	tests := []struct {
		file   string
		layout Layout
		want   map[string]any
		time   string
	}{
		{"winlogbeat.json", LayoutWinlogbeat, map[string]any{
			"EventID": int64(1), "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws1.example.local",
			"Provider_Name": "Microsoft-Windows-Sysmon", "EventRecordID": int64(4242), "Image": `C:\Windows\System32\cmd.exe`,
			"CommandLine": "cmd.exe /c whoami", "event.code": "1", "process.command_line": "cmd.exe /c whoami",
			"winlog.channel": "Microsoft-Windows-Sysmon/Operational", "host.name": "ws1.example.local", "user.name": "alice",
			"Execution_ProcessID": int64(3000),
		}, "2024-03-01T10:00:00.123Z"},
		{"nxlog.json", LayoutNXLog, map[string]any{
			"EventID": int64(4624), "Channel": "Security", "Computer": "dc1.example.local",
			"Provider_Name": "Microsoft-Windows-Security-Auditing", "EventRecordID": int64(99), "TargetUserName": "bob",
			"event.code": "4624", "user.name": "bob", "source.ip": "10.0.0.5", "winlog.channel": "Security", "ThreatName": "none",
		}, "2024-03-01T10:00:01Z"},
		{"sentinel.json", LayoutSentinel, map[string]any{
			"EventID": int64(3), "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws2", "Provider_Name": "Microsoft-Windows-Sysmon",
			"Image": `C:\a.exe`, "DestinationIp": "192.0.2.7", "destination.ip": "192.0.2.7", "process.executable": `C:\a.exe`,
		}, "2024-03-01T10:00:02Z"},
		{"eventxml.json", LayoutEventXML, map[string]any{
			"EventID": int64(7045), "EventID_Qualifiers": int64(16384), "Channel": "System", "Computer": "srv1",
			"Provider_Name": "Service Control Manager", "EventRecordID": int64(77), "Execution_ProcessID": int64(640),
			"ServiceName": "evil", "ImagePath": `C:\evil.exe`, "service.name": "evil", "event.code": "7045",
		}, "2024-03-01T10:00:03.25Z"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.Unmarshal(b, &doc)
		if l := DetectLayout(doc); l != tt.layout {
			t.Errorf("%s: layout %q, want %q", tt.file, l, tt.layout)
		}
		e, err := ParseJSON(b, Options{Source: "test"})
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		checkTypes(t, e)
		for k, want := range tt.want {
			if got := e.Fields[k]; fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
				t.Errorf("%s: %s = %#v, want %#v", tt.file, k, got, want)
			}
		}
		if got := e.Time.UTC().Format(time.RFC3339Nano); got != tt.time {
			t.Errorf("%s: time %s, want %s", tt.file, got, tt.time)
		}
	}
	// A stream of pretty-printed documents, as evtx_dump writes them.
	b, _ := os.ReadFile(filepath.Join("testdata", "eventxml.json"))
	n := 0
	st, err := ReadJSON(bytes.NewReader(append(append(bytes.Clone(b), '\n'), b...)), Options{}, func(*tansa.Event) error { n++; return nil })
	if err != nil || n != 2 || st.Failed != 0 {
		t.Errorf("ReadJSON: %d events, %+v, %v", n, st, err)
	}
	e, err := ParseJSON([]byte("not json"), Options{})
	if err == nil || e.ParseError == "" || string(e.Raw) != "not json" {
		t.Errorf("bad line: err=%v event=%+v", err, e)
	}
}

// TestReadOTRF parses every shared OTRF JSON-lines sample; Windows layouts
// must parse without error.
func TestReadOTRF(t *testing.T) {
	dir := shareddata.Path(t, "logs/otrf")
	counts := map[Layout]int{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		_, err = ReadJSONLines(zr, Options{Source: "file:" + filepath.Base(p)}, func(e *tansa.Event) error {
			checkTypes(t, e)
			var doc map[string]any
			json.Unmarshal(e.Raw, &doc)
			l := DetectLayout(doc)
			counts[l]++
			if l != LayoutUnknown && e.ParseError != "" {
				t.Fatalf("%s: %s", p, e.ParseError)
			}
			if l != LayoutUnknown {
				if _, ok := e.Fields["EventID"].(int64); !ok {
					t.Fatalf("%s: EventID %#v is not an integer", p, e.Fields["EventID"])
				}
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "unexpected EOF") {
			t.Errorf("%s: %v", p, err)
		}
		return nil
	})
	t.Logf("layouts: %v", counts)
	if counts[LayoutNXLog] == 0 {
		t.Error("no NXLog-layout events found")
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, n := range []string{"winlogbeat.json", "nxlog.json", "sentinel.json", "eventxml.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"EventID":"x","EventData":"{\"a\":{\"b\":[1,2,{}]}}","SourceSystem":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _ := ParseJSON(b, Options{})
		if e == nil {
			t.Fatal("nil event")
		}
		checkTypes(t, e)
	})
}

// FuzzReadEVTX feeds a file with a valid header and a fuzzed first chunk.
func FuzzReadEVTX(f *testing.F) {
	f.Add([]byte("ElfChnk\x00"), byte(0))
	f.Add(bytes.Repeat([]byte{0x2a, 0x2a, 0, 0, 0x40, 0, 0, 0}, 64), byte(1))
	f.Fuzz(func(t *testing.T, chunk []byte, fill byte) {
		b := make([]byte, 0x1000+chunkSize)
		copy(b, "ElfFile\x00")
		b[0x24], b[0x26] = 1, 3 // minor 1, major 3
		b[0x28] = 0x00
		b[0x29] = 0x10 // header block size 0x1000
		body := b[0x1000:]
		for i := range body {
			body[i] = fill
		}
		copy(body, "ElfChnk\x00")
		// First and last record numbers 1..4.
		body[8], body[16], body[24], body[32] = 1, 4, 1, 4
		copy(body[0x200:], chunk)
		ReadEVTX(bytes.NewReader(b), Options{}, func(e *tansa.Event) error {
			checkTypes(t, e)
			return nil
		})
	})
}

func BenchmarkReadEVTX(b *testing.B) {
	files := evtxFiles(b, shareddata.Path(b, "evtx"))
	var data [][]byte
	size := 0
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0 := cpuTime()
	events := 0
	for i := 0; i < b.N; i++ {
		for _, d := range data {
			st, _ := ReadEVTX(bytes.NewReader(d), Options{}, func(*tansa.Event) error { return nil })
			events += st.Events
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
		b.ReportMetric(float64(size*b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// TestRawJSONRoundTrip reads sample records with RawJSON and parses each
// rendering back with ParseJSON: the same fields must come out, so a
// record sent to a server as JSON is read there as the file was.
func TestRawJSONRoundTrip(t *testing.T) {
	dir := shareddata.Path(t, filepath.Join("evtx", "DeepBlueCLI"))
	path := filepath.Join(dir, "smb-password-guessing-security.evtx")
	n := 0
	_, err := ReadEVTXFile(path, Options{RawJSON: true}, func(ev *tansa.Event) error {
		n++
		back, err := ParseJSON(ev.Raw, Options{})
		if err != nil {
			return fmt.Errorf("record %d: %v", n, err)
		}
		for _, k := range []string{"EventID", "Channel", "Computer", "TargetUserName", "event.code", "host.name"} {
			if fmt.Sprint(ev.Fields[k]) != fmt.Sprint(back.Fields[k]) {
				return fmt.Errorf("record %d field %s: file %v, JSON %v", n, k, ev.Fields[k], back.Fields[k])
			}
		}
		// The rendering's float keeps the time to about a microsecond.
		if d := ev.Time.Sub(back.Time); d > time.Microsecond || d < -time.Microsecond {
			return fmt.Errorf("record %d time: file %v, JSON %v", n, ev.Time, back.Time)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no records read")
	}
}

// evtxJSON renders every record of the shared EVTX files as the import
// client sends them (RawJSON).
func evtxJSON(b testing.TB) [][]byte {
	var out [][]byte
	for _, f := range evtxFiles(b, shareddata.Path(b, "evtx")) {
		ReadEVTXFile(f, Options{RawJSON: true}, func(ev *tansa.Event) error {
			out = append(out, ev.Raw)
			return nil
		})
	}
	if len(out) == 0 {
		b.Fatal("no records")
	}
	return out
}

// BenchmarkParseJSONEVTX is the server's share of an EVTX import: parsing
// the JSON renderings of all shared EVTX records.
func BenchmarkParseJSONEVTX(b *testing.B) {
	docs := evtxJSON(b)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	events := 0
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			if _, err := ParseJSON(d, Options{}); err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// TestRawOnly reads a file with and without RawOnly: the same records,
// the same Raw, and no fields built.
func TestRawOnly(t *testing.T) {
	path := filepath.Join(shareddata.Path(t, filepath.Join("evtx", "DeepBlueCLI")), "smb-password-guessing-security.evtx")
	var full [][]byte
	if _, err := ReadEVTXFile(path, Options{RawJSON: true}, func(ev *tansa.Event) error {
		full = append(full, ev.Raw)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	i := 0
	if _, err := ReadEVTXFile(path, Options{RawJSON: true, RawOnly: true}, func(ev *tansa.Event) error {
		if i >= len(full) || !bytes.Equal(ev.Raw, full[i]) || len(ev.Fields) != 0 {
			return fmt.Errorf("record %d: raw %.80q, %d fields", i, ev.Raw, len(ev.Fields))
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if i != len(full) || i == 0 {
		t.Fatalf("%d records with RawOnly, %d without", i, len(full))
	}
}

// BenchmarkEVTXLibraryParse is the EVTX library alone on the shared files:
// every chunk's records decoded, nothing done with them. It is the "parse
// only" rate issue #3 holds an import to.
func BenchmarkEVTXLibraryParse(b *testing.B) {
	files := evtxFiles(b, shareddata.Path(b, "evtx"))
	var data [][]byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	events := 0
	for i := 0; i < b.N; i++ {
		for _, d := range data {
			rs := bytes.NewReader(d)
			chunks, err := evtx.GetChunks(rs)
			if err != nil {
				continue
			}
			for _, c := range chunks {
				recs, _ := parseChunk(bytes.NewReader(d), c)
				events += len(recs)
			}
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}
