package collect

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
)

// SyslogConfig is one syslog listener, tied to one tenant.
type SyslogConfig struct {
	Protocol string // "udp", "tcp" or "tls"
	Listen   string // host:port
	Tenant   string // the tenant its records belong to
	Hint     string // a format hint for every record ("" detects)
	TLS      *tls.Config
}

// batching bounds how long a record waits for its batch and how large a
// batch grows before it is published.
const (
	syslogBatch = 1000
	syslogWait  = 50 * time.Millisecond
	udpQueue    = 65536 // packets buffered while a batch is published
)

// Syslog is a running syslog listener.
type Syslog struct {
	cfg   SyslogConfig
	in    *Inputs
	log   *slog.Logger
	ln    net.Listener
	pc    net.PacketConn
	wg    sync.WaitGroup
	input string
}

// ListenSyslog starts a listener. Records from a TCP or TLS connection are
// published in batches, and the connection is not read while a batch is
// being persisted, so a sender faster than the store is slowed by TCP
// itself rather than losing records. UDP cannot push back: packets that
// arrive while the queue is full are counted as lost in
// tansa_ingest_refused_total{reason="overload"}, and those the kernel
// dropped because the socket's buffer was full in {reason="kernel"}
// (Linux).
func (in *Inputs) ListenSyslog(ctx context.Context, cfg SyslogConfig, log *slog.Logger) (*Syslog, error) {
	if cfg.Tenant == "" {
		return nil, errors.New("syslog listener: a tenant is required")
	}
	s := &Syslog{cfg: cfg, in: in, log: log, input: "syslog-" + cfg.Protocol}
	var err error
	switch cfg.Protocol {
	case "udp":
		s.pc, err = net.ListenPacket("udp", cfg.Listen)
	case "tcp":
		s.ln, err = net.Listen("tcp", cfg.Listen)
	case "tls":
		if cfg.TLS == nil {
			return nil, errors.New("syslog listener: tls needs a certificate")
		}
		s.ln, err = tls.Listen("tcp", cfg.Listen, cfg.TLS)
	default:
		return nil, fmt.Errorf("syslog listener: protocol %q is not udp, tcp or tls", cfg.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("syslog %s listener on %s: %w", cfg.Protocol, cfg.Listen, err)
	}
	s.wg.Add(1)
	if s.pc != nil {
		go s.serveUDP(ctx)
	} else {
		go s.serveStream(ctx)
	}
	return s, nil
}

// Addr returns the listening address.
func (s *Syslog) Addr() net.Addr {
	if s.pc != nil {
		return s.pc.LocalAddr()
	}
	return s.ln.Addr()
}

// Close stops the listener and waits for its connections to finish their
// current batch.
func (s *Syslog) Close() error {
	var err error
	if s.pc != nil {
		err = s.pc.Close()
	} else {
		err = s.ln.Close()
	}
	s.wg.Wait()
	return err
}

func (s *Syslog) serveStream(ctx context.Context) {
	defer s.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("syslog accept", "err", err)
			}
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			s.serveConn(ctx, c)
		}()
	}
}

func hostOf(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// serveConn reads frames from one connection: octet-counted ("LEN MSG",
// RFC 6587 3.4.1) when a frame starts with a digit, else a line (3.4.2).
// A reader goroutine hands whole frames to the batcher through a small
// queue; while the batcher publishes, the queue fills and the reader stops
// reading, which is TCP's backpressure on the sender.
func (s *Syslog) serveConn(ctx context.Context, c net.Conn) {
	source := s.input + ":" + hostOf(c.RemoteAddr())
	frames := make(chan []byte, syslogBatch)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(frames)
		br := bufio.NewReaderSize(c, 256<<10)
		var sl slab
		for {
			frame, err := readFrame(br, &sl)
			if len(frame) > 0 {
				select {
				case frames <- frame:
				case <-stop:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					s.log.Warn("syslog read", "from", source, "err", err)
				}
				return
			}
		}
	}()
	var batch []Record
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		s.in.waitIdle(ctx, s.cfg.Tenant)
		if err := s.in.Publish(ctx, s.input, s.cfg.Tenant, "", batch); err != nil {
			// Closing the connection tells the sender its last records may
			// not have arrived; a reliable sender resends them.
			s.log.Error("syslog publish; closing the connection", "from", source, "err", err)
			return false
		}
		batch = batch[:0]
		return true
	}
	for {
		select {
		case frame, ok := <-frames:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(syslogWait)
			}
			batch = append(batch, Record{Source: source, Hint: s.cfg.Hint, Received: s.in.now().UTC(), Raw: frame})
			if len(batch) >= syslogBatch && !flush() {
				return
			}
		case <-timer.C:
			if !flush() {
				return
			}
		}
	}
}

// readFrame reads one syslog frame. A frame is copied out of the reader's
// buffer into sl because the batch outlives it.
func readFrame(br *bufio.Reader, sl *slab) ([]byte, error) {
	b, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	if b[0] >= '1' && b[0] <= '9' {
		// Octet counting: digits, a space, then exactly that many bytes.
		head, err := br.Peek(min(br.Buffered(), 12))
		if err == nil {
			if sp := indexByte(head, ' '); sp > 0 {
				if n, err := strconv.Atoi(string(head[:sp])); err == nil && n > 0 && n <= maxRecord {
					if _, err := br.Discard(sp + 1); err != nil {
						return nil, err
					}
					frame := sl.make(n)
					if _, err := io.ReadFull(br, frame); err != nil {
						return nil, err
					}
					return frame, nil
				}
			}
		}
	}
	line, err := br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		// A line longer than the buffer: keep reading it whole.
		more := append([]byte(nil), line...)
		line, err = br.ReadSlice('\n')
		line = append(more, line...)
	}
	frame := trimEOL(line)
	if len(frame) == 0 {
		return nil, err
	}
	out := sl.make(len(frame))
	copy(out, frame)
	return out, err
}

// slabSize is the size of the blocks a slab carves frames from.
const slabSize = 64 << 10

// A slab hands out a connection's frames as pieces of larger blocks: one
// allocation per block of lines instead of one per line. A block is freed
// once no frame of it is referenced, soon after its batch is published.
type slab struct{ buf []byte }

// make returns n bytes of the current block, or of a new one when it is
// full; a frame of more than a quarter block gets its own.
func (s *slab) make(n int) []byte {
	if n > slabSize/4 {
		return make([]byte, n)
	}
	if len(s.buf)+n > cap(s.buf) {
		s.buf = make([]byte, 0, slabSize)
	}
	start := len(s.buf)
	s.buf = s.buf[:start+n]
	// The capacity ends with the frame: appending to one must not
	// overwrite the next.
	return s.buf[start : start+n : start+n]
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

type packet struct {
	from string
	data []byte
	at   time.Time
}

func (s *Syslog) serveUDP(ctx context.Context) {
	defer s.wg.Done()
	queue := make(chan packet, udpQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.publishUDP(ctx, queue)
	}()
	buf := make([]byte, 65536)
	uc, _ := s.pc.(*net.UDPConn)
	counting := uc != nil && udpDrops(uc)
	oob := make([]byte, 64)
	var dropped uint32
	for {
		var n, oobn int
		var from net.Addr
		var err error
		if counting {
			n, oobn, _, from, err = uc.ReadMsgUDP(buf, oob)
		} else {
			n, from, err = s.pc.ReadFrom(buf)
		}
		if err != nil {
			close(queue)
			<-done
			return
		}
		if d, ok := dropCount(oob[:oobn]); ok && d != dropped {
			s.in.refused.WithLabelValues(s.input, "kernel").Add(float64(d - dropped))
			dropped = d
		}
		p := packet{from: hostOf(from), data: append([]byte(nil), trimEOL(buf[:n])...), at: s.in.now().UTC()}
		select {
		case queue <- p:
		default:
			s.in.refused.WithLabelValues(s.input, "overload").Inc()
		}
	}
}

func (s *Syslog) publishUDP(ctx context.Context, queue <-chan packet) {
	var batch []Record
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// While the tenant is busy the queue fills, and packets beyond it
		// are counted as lost by serveUDP.
		s.in.waitIdle(ctx, s.cfg.Tenant)
		if err := s.in.Publish(ctx, s.input, s.cfg.Tenant, "", batch); err != nil {
			s.log.Error("syslog udp publish; records lost", "count", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case p, ok := <-queue:
			if !ok {
				flush()
				return
			}
			if len(p.data) == 0 {
				continue
			}
			if len(batch) == 0 {
				timer.Reset(syslogWait)
			}
			batch = append(batch, Record{Source: s.input + ":" + p.from, Hint: s.cfg.Hint, Received: p.at, Raw: p.data})
			if len(batch) >= syslogBatch {
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}
