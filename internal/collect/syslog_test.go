package collect

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T, proto string) (*Syslog, *recorder) {
	t.Helper()
	rec := &recorder{}
	in := newInputs(rec)
	s, err := in.ListenSyslog(context.Background(), SyslogConfig{Protocol: proto, Listen: "127.0.0.1:0", Tenant: "t1", Hint: "cef"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// waitRecords waits until n records were published (200 polls at most).
func waitRecords(t *testing.T, rec *recorder, n int) []Record {
	t.Helper()
	for range 200 {
		rec.mu.Lock()
		got := rec.records()
		rec.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	t.Fatalf("published %d records, want %d", len(rec.records()), n)
	return nil
}

func TestSyslogTCPBothFramings(t *testing.T) {
	s, rec := listen(t, "tcp")
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := "<34>1 2026-11-22T00:00:00Z host app - - - hello\nwith a newline inside"
	fmt.Fprintf(c, "<13>Nov 22 00:00:01 fw01 line one\r\n%d %s<13>Nov 22 00:00:02 fw01 line two\n", len(msg), msg)
	fmt.Fprintf(c, "%s\n", strings.Repeat("x", 300<<10)) // longer than the read buffer
	c.Close()
	got := waitRecords(t, rec, 4)
	want := []string{"<13>Nov 22 00:00:01 fw01 line one", msg, "<13>Nov 22 00:00:02 fw01 line two"}
	for i, w := range want {
		if string(got[i].Raw) != w {
			t.Errorf("record %d = %q, want %q", i, got[i].Raw, w)
		}
		if got[i].Source != "syslog-tcp:127.0.0.1" || got[i].Hint != "cef" {
			t.Errorf("record %d source %q hint %q", i, got[i].Source, got[i].Hint)
		}
	}
	if len(got[3].Raw) != 300<<10 {
		t.Errorf("a long line arrived as %d bytes, want %d", len(got[3].Raw), 300<<10)
	}
}

func TestSyslogTCPBatchesBeforeTheWait(t *testing.T) {
	s, rec := listen(t, "tcp")
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2500 {
		fmt.Fprintf(c, "<13>Nov 22 00:00:00 h line %d\n", i)
	}
	got := waitRecords(t, rec, 2500)
	for i, r := range got {
		if want := fmt.Sprintf("<13>Nov 22 00:00:00 h line %d", i); string(r.Raw) != want {
			t.Fatalf("record %d = %q, want %q (order or content lost)", i, r.Raw, want)
		}
	}
}

func TestSyslogUDP(t *testing.T) {
	s, rec := listen(t, "udp")
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("<13>Nov 22 00:00:00 h one\n"))
	c.Write([]byte("<13>Nov 22 00:00:00 h two"))
	got := waitRecords(t, rec, 2)
	if string(got[0].Raw) != "<13>Nov 22 00:00:00 h one" || got[0].Source != "syslog-udp:127.0.0.1" {
		t.Fatalf("got %+v", got)
	}
}

func TestSyslogFullQueueClosesTCP(t *testing.T) {
	rec := &recorder{full: true}
	in := newInputs(rec)
	s, err := in.ListenSyslog(context.Background(), SyslogConfig{Protocol: "tcp", Listen: "127.0.0.1:0", Tenant: "t1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "<13>Nov 22 00:00:00 h one\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after a refused batch: %v, want the server to close the connection (EOF)", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("12 <13>hello wo\nline\n"))
	f.Add([]byte("99999999999 x"))
	f.Add([]byte("5 abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		br := newReader(b)
		var sl slab
		var frames, copies [][]byte
		for range 1000 {
			frame, err := readFrame(br, &sl)
			frames, copies = append(frames, frame), append(copies, bytes.Clone(frame))
			if err != nil {
				break
			}
		}
		// Frames share slab blocks: none may change as later ones are read.
		for i := range frames {
			if !bytes.Equal(frames[i], copies[i]) {
				t.Fatalf("frame %d changed from %q to %q", i, copies[i], frames[i])
			}
		}
	})
}

// TestReadFrameSlab reads more lines than one slab block holds, of both
// framings and one longer than a quarter block, and checks that every
// frame keeps its bytes, also when one is appended to.
func TestReadFrameSlab(t *testing.T) {
	var in bytes.Buffer
	var want []string
	for i := range 3000 {
		line := fmt.Sprintf("<13>Nov 22 12:00:00 host app[%d]: line %d %s", i, i, strings.Repeat("x", i%50))
		switch {
		case i == 1500:
			line = strings.Repeat("y", slabSize/2)
			fmt.Fprintf(&in, "%s\n", line)
		case i%3 == 0:
			fmt.Fprintf(&in, "%d %s", len(line), line)
		default:
			fmt.Fprintf(&in, "%s\r\n", line)
		}
		want = append(want, line)
	}
	br := bufio.NewReaderSize(&in, 256<<10)
	var sl slab
	var got [][]byte
	for {
		frame, err := readFrame(br, &sl)
		if len(frame) > 0 {
			got = append(got, frame)
		}
		if err != nil {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d frames, want %d", len(got), len(want))
	}
	_ = append(got[0], "APPENDED"...)
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("frame %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func newReader(b []byte) *bufio.Reader { return bufio.NewReaderSize(bytes.NewReader(b), 16) }

// BenchmarkReadFrame reads bench/syslogload-sized lines (about 300 bytes)
// the way a TCP connection's reader does.
func BenchmarkReadFrame(b *testing.B) {
	line := []byte("<189>" + strings.Repeat("date=2026-11-22 srcip=192.0.2.7 ", 9) + "\n")
	data := bytes.Repeat(line, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var sl slab
	r := bytes.NewReader(data)
	br := bufio.NewReaderSize(r, 256<<10)
	for b.Loop() {
		if _, err := readFrame(br, &sl); err != nil {
			r.Reset(data)
			br.Reset(r)
		}
	}
}
