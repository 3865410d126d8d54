package syslogd

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// The log budget per kind of line: a flood of refused connections or bad
// messages writes at most logBurst lines of each kind a minute (the
// metrics still count every one).
const (
	logWindow = time.Minute
	logBurst  = 10
)

// logLimiter lets at most burst lines of one kind through per window; the
// first line let through after some were held back says how many. Kinds
// are a fixed set of reasons, so its map stays small.
type logLimiter struct {
	window time.Duration
	burst  int

	mu    sync.Mutex
	kinds map[string]*logCount
}

type logCount struct {
	start      time.Time
	n          int
	suppressed int
}

func newLogLimiter(window time.Duration, burst int) *logLimiter {
	return &logLimiter{window: window, burst: burst, kinds: map[string]*logCount{}}
}

// allow reports whether a line of kind may be written at now, and how many
// were held back since the last one written.
func (l *logLimiter) allow(kind string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.kinds[kind]
	if c == nil {
		c = &logCount{start: now}
		l.kinds[kind] = c
	}
	if now.Sub(c.start) >= l.window || now.Before(c.start) {
		c.start, c.n = now, 0
	}
	if c.n >= l.burst {
		c.suppressed++
		return false, 0
	}
	c.n++
	suppressed, c.suppressed = c.suppressed, 0
	return true, suppressed
}

// logLimited writes one log line of kind unless its budget is spent.
func (s *Server) logLimited(level slog.Level, kind, msg string, args ...any) {
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	ok, suppressed := s.limit.allow(kind, s.deps.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	s.log.Log(context.Background(), level, msg, args...)
}
