// Package syslogd is the gateway's syslog listener: RFC 5424 and RFC 3164
// messages over TCP, octet-counted or LF-framed (detected per frame by
// ingest/syslog), optionally over TLS with client certificates (RFC 5425).
//
// Guarantees:
//   - only clients from the allowed networks are served; others are closed
//     on accept, before a byte is read; with a client CA configured the TLS
//     handshake also requires a certificate signed by it;
//   - memory is bounded: at most MaxConnections connections hold a slot,
//     each holding at most one message of MaxMessageBytes plus FlushEvents
//     parsed events; a message must arrive within IdleTimeout, so a slow
//     client cannot pin a connection slot forever;
//   - slots are shared fairly: one source (an IPv4 address, or an IPv6 /64)
//     holds at most MaxConnectionsPerSource of them, and when the limit a
//     new connection meets is full, the connection idle longest (waiting
//     for data for more than EvictIdleAfter, nothing unread) is evicted to
//     make room instead of the newcomer being refused, so idle connections
//     cannot lock senders out (see slots.go);
//   - nothing is lost without a trace: every refused connection, evicted
//     connection and dropped message is counted through the Observer by
//     reason (never by address: the label set stays small) and logged with
//     the remote address, at most a few lines per reason and minute so a
//     flood cannot flood the log;
//   - a message that is not syslog is skipped and counted, and the
//     connection goes on; a framing error (oversized frame, stream cut inside
//     an octet-counted frame) loses the framing, so the events read so far are
//     stored and the connection is closed;
//   - events are stored in batches (FlushEvents or FlushInterval) and
//     nothing is dropped: when the gateway pushes back the listener stops
//     reading, so TCP flow control slows the sender down (a connection
//     held back this way is not idle and is never evicted); an evicted or
//     shut down connection still stores every event it has parsed.
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

// Defaults of the fairness settings; gateway/config takes its defaults
// from here.
const (
	// DefaultMaxConnectionsPerSource lets one host run a few senders
	// (rsyslog, journald forwarders, an agent) with room to spare, and
	// still takes 16 hosts to fill the default 256 slots.
	DefaultMaxConnectionsPerSource = 16
	// DefaultEvictIdleAfter is short next to IdleTimeout: a connection
	// is only evicted when every slot is taken, and then one that has sent
	// nothing for 10 s is the cheapest to give up (its sender reconnects).
	DefaultEvictIdleAfter = 10 * time.Second
)

// Reasons the Observer is told (the "reason" label of the metrics).
const (
	// Refused connections.
	ReasonNotAllowed      = "not_allowed"      // remote address outside the allowed networks
	ReasonHandshakeFailed = "handshake_failed" // TLS handshake or client certificate failed
	ReasonConnectionLimit = "connection_limit" // every slot taken, none idle long enough to evict
	ReasonSourceLimit     = "source_limit"     // the source holds its limit, none idle long enough
	// Evicted connections: the limit the newcomer met (ReasonConnectionLimit
	// or ReasonSourceLimit).
	// Dropped messages.
	ReasonInvalid     = "invalid"      // not syslog, or a framing error
	ReasonTooLarge    = "too_large"    // a frame over MaxMessageBytes
	ReasonStoreFailed = "store_failed" // the store refused the batch
)

// Observer receives the listener's counts (gateway/metrics implements it).
// Reasons are the Reason* constants, never addresses.
type Observer interface {
	Accepted(protocol string, n int)
	Rejected(protocol, reason string)
	ConnOpened()
	ConnClosed()
	// ConnRefused counts a connection closed on accept or at its TLS
	// handshake.
	ConnRefused(reason string)
	// ConnEvicted counts an idle connection closed to make room for a new
	// one; reason is the limit the new connection met.
	ConnEvicted(reason string)
	// MessagesDropped counts n messages received and not stored.
	MessagesDropped(reason string, n int)
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
	// MaxConnectionsPerSource bounds the slots one source (an IPv4
	// address, or an IPv6 /64, which one host usually owns whole) may
	// hold (0: DefaultMaxConnectionsPerSource; above MaxConnections it
	// has no effect).
	MaxConnectionsPerSource int
	// EvictIdleAfter is how long a connection must have been waiting for
	// data before a new connection may evict it when a limit is full (0:
	// DefaultEvictIdleAfter). At or above IdleTimeout nothing is ever
	// evicted.
	EvictIdleAfter time.Duration
	IdleTimeout    time.Duration
	FlushEvents    int
	FlushInterval  time.Duration
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
	cfg   Config
	deps  Deps
	log   *slog.Logger
	limit *logLimiter

	mu     sync.Mutex
	ln     net.Listener
	slots  slots // guarded by mu
	closed bool
	wg     sync.WaitGroup

	ctx    context.Context // cancelled by Shutdown's deadline
	cancel context.CancelFunc
}

// ConfigError reports an unusable Config.
type ConfigError struct{ Msg string }

// Error implements error.
func (e *ConfigError) Error() string { return "syslogd: " + e.Msg }

// New validates cfg, applies the defaults of its zero fairness settings
// and returns a listener.
func New(cfg Config, deps Deps) (*Server, error) {
	switch {
	case len(cfg.Allowed) == 0:
		return nil, &ConfigError{"no allowed networks"}
	case deps.Log == nil:
		return nil, &ConfigError{"no event log"}
	case cfg.MaxMessageBytes < 1 || cfg.MaxConnections < 1 || cfg.FlushEvents < 1 || cfg.IdleTimeout <= 0 || cfg.FlushInterval <= 0:
		return nil, &ConfigError{"limits must be positive"}
	case cfg.MaxConnectionsPerSource < 0 || cfg.EvictIdleAfter < 0:
		return nil, &ConfigError{"fairness settings must not be negative"}
	}
	if cfg.MaxConnectionsPerSource == 0 {
		cfg.MaxConnectionsPerSource = DefaultMaxConnectionsPerSource
	}
	if cfg.EvictIdleAfter == 0 {
		cfg.EvictIdleAfter = DefaultEvictIdleAfter
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
	return &Server{cfg: cfg, deps: deps, log: deps.Logger, limit: newLogLimiter(logWindow, logBurst),
		slots: newSlots(cfg.MaxConnections, cfg.MaxConnectionsPerSource, cfg.EvictIdleAfter),
		ctx:   ctx, cancel: cancel}, nil
}

type nopObserver struct{}

func (nopObserver) Accepted(string, int)        {}
func (nopObserver) Rejected(string, string)     {}
func (nopObserver) ConnOpened()                 {}
func (nopObserver) ConnClosed()                 {}
func (nopObserver) ConnRefused(string)          {}
func (nopObserver) ConnEvicted(string)          {}
func (nopObserver) MessagesDropped(string, int) {}

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
		remote := conn.RemoteAddr().String()
		src, ok := s.source(conn.RemoteAddr())
		if !ok {
			s.deps.Observer.Rejected(proto, "unauthenticated")
			s.deps.Observer.ConnRefused(ReasonNotAllowed)
			s.logLimited(slog.LevelWarn, ReasonNotAllowed, "syslog connection refused: network not allowed", "remote", remote)
			_ = conn.Close()
			continue
		}
		c := newConn(conn, src, remote, s.deps.Now)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return ErrServerClosed
		}
		adm := s.slots.admit(c, s.deps.Now())
		if adm.refused == "" {
			// Under mu with closed false: Shutdown's Wait comes after.
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if adm.refused != "" {
			s.deps.Observer.Rejected(proto, "busy")
			s.deps.Observer.ConnRefused(adm.refused)
			s.logLimited(slog.LevelWarn, adm.refused, "syslog connection refused: "+limitText(adm.refused)+" and no connection idle long enough to evict",
				"remote", remote, "reason", adm.refused)
			_ = conn.Close()
			continue
		}
		if v := adm.evicted; v != nil {
			v.stopReading()
			s.deps.Observer.ConnEvicted(adm.evictedFor)
			s.logLimited(slog.LevelWarn, "evicted", "syslog connection evicted: "+limitText(adm.evictedFor)+", it was idle longest",
				"remote", v.remote, "idle", s.deps.Now().Sub(v.idleSince()).Round(time.Millisecond), "for", remote, "reason", adm.evictedFor)
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

func limitText(reason string) string {
	if reason == ReasonSourceLimit {
		return "the source holds its connection limit"
	}
	return "every connection slot is taken"
}

// source reports the source key of a remote address (see sourceKey) and
// whether it is in an allowed network.
func (s *Server) source(a net.Addr) (netip.Prefix, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.Allowed {
		if p.Contains(ip) {
			return sourceKey(ip), true
		}
	}
	return netip.Prefix{}, false
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	s.slots.remove(c)
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
	for c := range s.slots.conns {
		// Unblock the reader; the connection's writer still flushes.
		c.stopReading()
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
func (s *Server) handle(c *conn) {
	s.deps.Observer.ConnOpened()
	defer s.deps.Observer.ConnClosed()
	defer c.Close()
	if tc, ok := c.Conn.(*tls.Conn); ok {
		_ = tc.SetDeadline(s.deps.Now().Add(s.cfg.IdleTimeout))
		if c.stopped() {
			return
		}
		// Waiting for the client's handshake is idle time too: a client
		// that connects and never speaks TLS can be evicted.
		c.waiting.Store(true)
		err := tc.HandshakeContext(s.ctx)
		c.waiting.Store(false)
		if err != nil {
			if c.stopped() {
				return // evicted or shutting down, not the client's failure
			}
			s.deps.Observer.Rejected(proto, "unauthenticated")
			s.deps.Observer.ConnRefused(ReasonHandshakeFailed)
			s.logLimited(slog.LevelWarn, ReasonHandshakeFailed, "syslog TLS handshake failed", "remote", c.remote, "err", err)
			return
		}
		c.touch(s.deps.Now())
		_ = tc.SetDeadline(time.Time{})
	}
	events := make(chan gateway.Event, s.cfg.FlushEvents)
	go s.read(c, events)
	s.write(c.remote, events)
}

// read frames and parses until EOF, a framing error, the idle timeout,
// eviction or shutdown, then closes events.
func (s *Server) read(c *conn, events chan<- gateway.Event) {
	defer close(events)
	rd := syslog.NewReader(c, s.cfg.MaxMessageBytes)
	p := syslog.NewParser()
	key := connKey() // arrival order makes the event ids (arrival.go)
	for {
		if err := s.waitNotBusy(); err != nil {
			return
		}
		_ = c.SetReadDeadline(s.deps.Now().Add(s.cfg.IdleTimeout))
		// After the deadline is set: stopReading sets the flag before its
		// own (past) deadline, so one of the two ends this read.
		if c.stopped() {
			return
		}
		msg, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !isClosed(err) {
				var ie *ingest.Error
				if errors.As(err, &ie) {
					reason := ReasonInvalid
					if ie.Code == gateway.CodeTooLarge {
						reason = ReasonTooLarge
					}
					s.deps.Observer.Rejected(proto, reason)
					s.deps.Observer.MessagesDropped(reason, 1)
					s.logLimited(slog.LevelWarn, "framing", "syslog framing error, closing connection", "remote", c.remote, "err", err)
				} else {
					s.log.Debug("syslog connection ended", "remote", c.remote, "err", err)
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
			s.deps.Observer.Rejected(proto, ReasonInvalid)
			s.deps.Observer.MessagesDropped(ReasonInvalid, 1)
			s.logLimited(slog.LevelWarn, ReasonInvalid, "syslog message skipped: not syslog", "remote", c.remote, "err", err)
			continue
		}
		events <- ev
	}
}

// appendRetrying appends batch, retrying with backoff while the store
// answers that it is unavailable or busy for now (a full disk: the store
// refuses until space is freed), since syslog has no acknowledgement to
// withhold: holding the batch stops this connection's reader, which leaves
// the sender's data in the socket, instead of dropping it. It gives up at
// shutdown.
func (s *Server) appendRetrying(remote string, batch []gateway.Event) ([]gateway.Event, error) {
	backoff := 100 * time.Millisecond
	for {
		stored, err := s.deps.Log.Append(s.ctx, batch)
		if code := gateway.ErrorCode(err); err == nil || (code != gateway.CodeUnavailable && code != gateway.CodeBusy) {
			return stored, err
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed || s.ctx.Err() != nil {
			return nil, err
		}
		s.logLimited(slog.LevelWarn, "store-unavailable", "syslog events held: store unavailable, retrying", "remote", remote, "events", len(batch), "err", err)
		select {
		case <-s.ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
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

// appended reports stored events to the progress owner, which measures
// the anchoring lag from the oldest append not yet anchored.
func (s *Server) appended(stored []gateway.Event) {
	if s.deps.Progress == nil || len(stored) == 0 {
		return
	}
	var end uint64
	for _, e := range stored {
		end = max(end, e.Seq+1)
	}
	s.deps.Progress.Appended(end, s.deps.Now())
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
		stored, err := s.appendRetrying(remote, batch)
		if err != nil {
			// Syslog has no acknowledgement to withhold: the sender cannot
			// learn of the loss, so log it loudly and count it.
			s.deps.Observer.Rejected(proto, "internal")
			s.deps.Observer.MessagesDropped(ReasonStoreFailed, len(batch))
			s.logLimited(slog.LevelError, ReasonStoreFailed, "syslog events not stored", "remote", remote, "events", len(batch), "err", err)
		} else {
			s.deps.Observer.Accepted(proto, len(stored))
			s.appended(stored)
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
