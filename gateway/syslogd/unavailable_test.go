package syslogd

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// fullDiskLog refuses appends as unavailable (a store below its free-space
// minimum) the first refusals times, then keeps what it is given.
type fullDiskLog struct {
	gateway.EventLog
	mu       sync.Mutex
	refusals int
	stored   []gateway.Event
}

func (l *fullDiskLog) Append(_ context.Context, events []gateway.Event) ([]gateway.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refusals > 0 {
		l.refusals--
		return nil, &gateway.Error{Code: gateway.CodeUnavailable, Msg: "store: disk full"}
	}
	l.stored = append(l.stored, events...)
	return events, nil
}

func (l *fullDiskLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.stored)
}

// lockedBuffer is a log sink safe for the server and the test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestUnavailableStoreHoldsMessages: while the store answers unavailable
// the listener holds the messages and retries, dropping none; an invalid
// message is logged at WARN (the default level shows it) with its source.
func TestUnavailableStoreHoldsMessages(t *testing.T) {
	st := &fullDiskLog{refusals: 3}
	obs := &counts{}
	var logs lockedBuffer
	srv, err := New(Config{
		Allowed:         []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Meta:            ingest.Meta{Source: "syslog", Sourcetype: "syslog"},
		MaxMessageBytes: 4096,
		MaxConnections:  4,
		IdleTimeout:     5 * time.Second,
		FlushEvents:     100,
		FlushInterval:   20 * time.Millisecond,
	}, Deps{Log: st, Observer: obs, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("<13>Nov 25 10:00:01 h1 app: one\nnot syslog\n<13>Nov 25 10:00:02 h2 app: two\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	waitFor(t, "2 stored events", func() bool { return st.count() == 2 })
	_, _, _, dropped := obs.fairness()
	if got := dropped[ReasonStoreFailed]; got != 0 {
		t.Errorf("%d messages dropped as store failed, want 0", got)
	}
	out := logs.String()
	if !strings.Contains(out, "syslog events held") {
		t.Errorf("the held batch was not logged:\n%s", out)
	}
	var invalid string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "not syslog") {
			invalid = line
		}
	}
	if !strings.Contains(invalid, "level=WARN") || !strings.Contains(invalid, "remote=127.0.0.1") {
		t.Errorf("invalid message logged as %q, want a WARN line with the remote address", invalid)
	}
}
