package syslogd

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// TestAppendsReachProgress proves the listener reports what it stored to
// the progress owner, as every ingest adapter must: the anchoring lag is
// measured from those reports.
func TestAppendsReachProgress(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := time.Now()
	prog := &recordingProgress{}
	srv, err := New(Config{
		Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Meta: ingest.Meta{Source: "syslog"},
		MaxMessageBytes: 4096, MaxConnections: 1, IdleTimeout: 5 * time.Second, FlushEvents: 2, FlushInterval: time.Minute,
	}, Deps{Log: st, Progress: prog})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("<13>Nov 25 10:00:01 h app: one\n<13>Nov 25 10:00:02 h app: two\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the append to be reported", func() bool { return len(prog.calls()) > 0 })
	got := prog.calls()
	if len(got) != 1 || got[0].end != 2 || got[0].at.Before(before) {
		t.Errorf("Appended calls = %v, want one with end 2 at or after %v", got, before)
	}
}

// appendedCall is one call of Progress.Appended.
type appendedCall struct {
	end uint64
	at  time.Time
}

// recordingProgress is a gateway.Progress that records Appended and is
// never busy.
type recordingProgress struct {
	mu   sync.Mutex
	seen []appendedCall
}

func (p *recordingProgress) Status() gateway.AnchorStatus                  { return gateway.AnchorStatus{} }
func (p *recordingProgress) Subscribe(func(gateway.Batch, gateway.Anchor)) {}
func (p *recordingProgress) Busy(context.Context) (bool, string)           { return false, "" }
func (p *recordingProgress) RetryAfter() time.Duration                     { return time.Second }
func (p *recordingProgress) Appended(end uint64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, appendedCall{end, at})
}

func (p *recordingProgress) calls() []appendedCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]appendedCall(nil), p.seen...)
}
