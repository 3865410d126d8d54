// Package syslogd is the gateway's syslog listener: RFC 5424 and RFC 3164
// messages over TCP, octet-counted or LF-framed (detected per frame by
// ingest/syslog), optionally over TLS with client certificates (RFC 5425).
//
// Guarantees:
//   - only clients from the allowed networks are served; others are closed
//     on accept, before a byte is read; with a client CA configured the TLS
//     handshake also requires a certificate signed by it;
//   - memory is bounded: at most MaxConnections connections, each holding
//     at most one message of MaxMessageBytes plus FlushEvents parsed
//     events; a message must arrive within IdleTimeout, so a slow client
//     cannot pin a connection slot forever;
//   - a message that is not syslog is skipped and counted, and the
//     connection goes on; a framing error (oversized frame, stream cut inside
//     an octet-counted frame) loses the framing, so the events read so far are
//     stored and the connection is closed;
//   - events are stored in batches (FlushEvents or FlushInterval) and
//     nothing is dropped: when the gateway pushes back the listener stops
//     reading, so TCP flow control slows the sender down.
package syslogd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/syslog"
)

const proto = "syslog"

// Observer receives the listener's counts (gateway/metrics implements it).
type Observer interface {
	Accepted(protocol string, n int)
	Rejected(protocol, reason string)
	ConnOpened()
	ConnClosed()
}

// Config is what the listener needs; gateway/cmd fills it from the
// configuration's syslog section.
type Config struct {
	// Allowed are the client networks served. Required.
	Allowed []netip.Prefix
	// TLS, when non-nil, wraps every connection (set ClientAuth and
	// ClientCAs for client certificates).
	TLS             *tls.Config
	Meta            ingest.Meta // Source, Sourcetype, Index of every event
	MaxMessageBytes int
	MaxConnections  int
	IdleTimeout     time.Duration
	FlushEvents     int
	FlushInterval   time.Duration
}

// Deps are the listener's collaborators. Log is required.
type Deps struct {
	Log gateway.EventLog
	// Progress is the owner of anchoring progress; while its Busy reports
	// backpressure the listener does not read (nil: never busy).
	Progress gateway.Progress
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
}

// Server accepts syslog connections. Create with New, start with Serve,
// stop with Shutdown.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	sem  chan struct{}

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	ctx    context.Context // cancelled by Shutdown's deadline
	cancel context.CancelFunc
}

// ConfigError reports an unusable Config.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return "syslogd: " + e.Msg }

// New validates cfg and returns a listener.
func New(cfg Config, deps Deps) (*Server, error) {
	switch {
	case len(cfg.Allowed) == 0:
		return nil, &ConfigError{"no allowed networks"}
	case deps.Log == nil:
		return nil, &ConfigError{"no event log"}
	case cfg.MaxMessageBytes < 1 || cfg.MaxConnections < 1 || cfg.FlushEvents < 1 || cfg.IdleTimeout <= 0 || cfg.FlushInterval <= 0:
		return nil, &ConfigError{"limits must be positive"}
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Observer == nil {
		deps.Observer = nopObserver{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, deps: deps, log: deps.Logger, sem: make(chan struct{}, cfg.MaxConnections),
		conns: map[net.Conn]struct{}{}, ctx: ctx, cancel: cancel}, nil
}

type nopObserver struct{}

func (nopObserver) Accepted(string, int)    {}
func (nopObserver) Rejected(string, string) {}
func (nopObserver) ConnOpened()             {}
func (nopObserver) ConnClosed()             {}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("syslogd: server closed")

// Serve accepts connections on ln until Shutdown; it returns
// ErrServerClosed then, or the accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.allowed(conn.RemoteAddr()) {
			s.deps.Observer.Rejected(proto, "unauthenticated")
			s.log.Warn("syslog connection refused: network not allowed", "remote", conn.RemoteAddr().String())
			_ = conn.Close()
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.deps.Observer.Rejected(proto, "busy")
			s.log.Warn("syslog connection refused: too many connections", "remote", conn.RemoteAddr().String())
			_ = conn.Close()
			continue
		}
		if !s.track(conn) {
			<-s.sem
			_ = conn.Close()
			return ErrServerClosed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			defer s.untrack(conn)
			s.handle(conn)
		}()
	}
}

func (s *Server) allowed(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.Allowed {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, makes every connection's pending read return,
// stores what each connection has parsed, and waits for them until ctx
// ends (then their stores are cancelled too).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		// Unblock the reader; the connection's writer still flushes.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
	s.cancel()
	return err
}

// handle serves one connection: a reader goroutine frames and parses
// messages onto a bounded channel, this goroutine appends them in batches.
func (s *Server) handle(conn net.Conn) {
	s.deps.Observer.ConnOpened()
	defer s.deps.Observer.ConnClosed()
	defer conn.Close()
	remote := conn.RemoteAddr().String()
	if tc, ok := conn.(*tls.Conn); ok {
		_ = tc.SetDeadline(s.deps.Now().Add(s.cfg.IdleTimeout))
		if err := tc.HandshakeContext(s.ctx); err != nil {
			s.deps.Observer.Rejected(proto, "unauthenticated")
			s.log.Warn("syslog TLS handshake failed", "remote", remote, "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
	}
	events := make(chan gateway.Event, s.cfg.FlushEvents)
	go s.read(conn, remote, events)
	s.write(remote, events)
}

// read frames and parses until EOF, a framing error, the idle timeout or
// shutdown, then closes events.
func (s *Server) read(conn net.Conn, remote string, events chan<- gateway.Event) {
	defer close(events)
	rd := syslog.NewReader(conn, s.cfg.MaxMessageBytes)
	p := syslog.NewParser()
	key := connKey() // arrival order makes the event ids (arrival.go)
	for {
		if err := s.waitNotBusy(); err != nil {
			return
		}
		_ = conn.SetReadDeadline(s.deps.Now().Add(s.cfg.IdleTimeout))
		msg, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !isClosed(err) {
				var ie *ingest.Error
				if errors.As(err, &ie) {
					reason := "invalid"
					if ie.Code == gateway.CodeTooLarge {
						reason = "too_large"
					}
					s.deps.Observer.Rejected(proto, reason)
					s.log.Warn("syslog framing error, closing connection", "remote", remote, "err", err)
				} else {
					s.log.Debug("syslog connection ended", "remote", remote, "err", err)
				}
			}
			return
		}
		m := s.cfg.Meta
		m.Received = s.deps.Now().UTC()
		m.Key = key
		ev, err := p.Parse(msg, m)
		if err != nil {
			// One bad message must not cost the sender its connection.
			s.deps.Observer.Rejected(proto, "invalid")
			s.log.Debug("syslog message skipped", "remote", remote, "err", err)
			continue
		}
		events <- ev
	}
}

func isClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}

// waitNotBusy blocks while the gateway pushes back (leaving the data in
// the socket), returning an error only at shutdown.
func (s *Server) waitNotBusy() error {
	for {
		if s.deps.Progress == nil {
			return nil
		}
		busy, _ := s.deps.Progress.Busy(s.ctx)
		if !busy {
			return nil
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return ErrServerClosed
		}
	}
}

// write appends events in batches of FlushEvents, or whatever arrived
// within FlushInterval of the first, until events is closed.
func (s *Server) write(remote string, events <-chan gateway.Event) {
	batch := make([]gateway.Event, 0, s.cfg.FlushEvents)
	timer := time.NewTimer(s.cfg.FlushInterval)
	timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		stored, err := s.deps.Log.Append(s.ctx, batch)
		if err != nil {
			// Syslog has no acknowledgement to withhold: the sender cannot
			// learn of the loss, so log it loudly and count it.
			s.deps.Observer.Rejected(proto, "internal")
			s.log.Error("syslog events not stored", "remote", remote, "events", len(batch), "err", err)
		} else {
			s.deps.Observer.Accepted(proto, len(stored))
		}
		batch = batch[:0]
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				timer.Stop()
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(s.cfg.FlushInterval)
			}
			batch = append(batch, ev)
			if len(batch) >= s.cfg.FlushEvents {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}
