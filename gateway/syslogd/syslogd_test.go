package syslogd

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"

	"github.com/ledgerguard/ledgerguard/gateway"
)

type counts struct {
	mu       sync.Mutex
	accepted int
	rejected map[string]int
	opened   int
	refused  map[string]int
	evicted  map[string]int
	dropped  map[string]int
}

func (c *counts) Accepted(_ string, n int) { c.mu.Lock(); c.accepted += n; c.mu.Unlock() }
func (c *counts) Rejected(_, reason string) {
	c.mu.Lock()
	if c.rejected == nil {
		c.rejected = map[string]int{}
	}
	c.rejected[reason]++
	c.mu.Unlock()
}
func (c *counts) ConnOpened() { c.mu.Lock(); c.opened++; c.mu.Unlock() }
func (c *counts) ConnClosed() {}
func (c *counts) ConnRefused(reason string) {
	c.add(&c.refused, reason, 1)
}
func (c *counts) ConnEvicted(reason string) { c.add(&c.evicted, reason, 1) }
func (c *counts) MessagesDropped(reason string, n int) {
	c.add(&c.dropped, reason, n)
}

func (c *counts) add(m *map[string]int, k string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k] += n
}

func (c *counts) get() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.rejected {
		m[k] = v
	}
	return c.accepted, m
}

// fairness returns copies of the connection counts.
func (c *counts) fairness() (opened int, refused, evicted, dropped map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, maps.Clone(c.refused), maps.Clone(c.evicted), maps.Clone(c.dropped)
}

func start(t *testing.T, allowed string) (*Server, *store.Store, *counts, string) {
	t.Helper()
	return startWith(t, allowed, nil)
}

// startWith starts a listener whose Config tune may change.
func startWith(t *testing.T, allowed string, tune func(*Config)) (*Server, *store.Store, *counts, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"))
	if err != nil {
		t.Fatal(err)
	}
	obs := &counts{}
	cfg := Config{
		Allowed:         []netip.Prefix{netip.MustParsePrefix(allowed)},
		Meta:            ingest.Meta{Source: "syslog", Sourcetype: "syslog"},
		MaxMessageBytes: 4096,
		MaxConnections:  4,
		IdleTimeout:     5 * time.Second,
		FlushEvents:     100,
		FlushInterval:   20 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := New(cfg, Deps{Log: st, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return srv, st, obs, ln.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func octet(msg string) string { return fmt.Sprintf("%d %s", len(msg), msg) }

func TestFramingsAndBadMessage(t *testing.T) {
	_, st, obs, addr := start(t, "127.0.0.0/8")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		octet("<34>1 2026-11-25T10:00:00Z host1 sshd 42 - - Failed password for root from 10.0.0.1 port 22 ssh2"),
		"<13>Nov 25 10:00:01 host2 app: LF framed message\n",
		"this is not syslog at all\n", // skipped, connection kept
		octet("<165>1 2026-11-25T10:00:02.5Z host3 app 7 ID47 [ex@32473 k=\"v\"] octet framed after a bad one"),
		"<14>Nov 25 10:00:03 host4 app: last LF message\n",
	}
	for _, m := range msgs {
		if _, err := conn.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	// The listener counts a message accepted after the store returns, so
	// the store can hold it a moment before the count does.
	waitFor(t, "4 stored and counted events", func() bool { a, _ := obs.get(); return st.Size() == 4 && a == 4 })
	accepted, rejected := obs.get()
	if accepted != 4 || rejected["invalid"] != 1 {
		t.Errorf("accepted %d, rejected %v; want 4 and invalid:1", accepted, rejected)
	}
	wantHosts := []string{"host1", "host2", "host3", "host4"}
	for seq, want := range wantHosts {
		ev, err := st.EventBySeq(context.Background(), uint64(seq))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Host != want || ev.Source != "syslog" {
			t.Errorf("event %d: host %q source %q, want %q syslog", seq, ev.Host, ev.Source, want)
		}
	}
}

func TestOversizedFrameClosesConnectionKeepsEarlierEvents(t *testing.T) {
	_, st, obs, addr := start(t, "127.0.0.1/32")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(octet("<34>1 2026-11-25T10:00:00Z h a - - - ok") + "99999 <34>1 more data follows")); err != nil {
		t.Fatal(err)
	}
	// The server closes the connection: the read ends.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after an oversized frame")
	}
	waitFor(t, "1 stored event", func() bool { return st.Size() == 1 })
	if _, rejected := obs.get(); rejected["too_large"] != 1 {
		t.Errorf("rejected = %v, want too_large:1", rejected)
	}
}

func TestNetworkNotAllowed(t *testing.T) {
	_, st, obs, addr := start(t, "10.0.0.0/8")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("<13>Nov 25 10:00:01 h app: refused\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection from a network not allowed was served")
	}
	waitFor(t, "the refusal to be counted", func() bool { _, r := obs.get(); return r["unauthenticated"] == 1 })
	if st.Size() != 0 {
		t.Errorf("stored %d events from a refused network", st.Size())
	}
}

func TestBusyStopsReadingThenResumes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	busy := true
	srv, err := New(Config{
		Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Meta: ingest.Meta{Source: "syslog"},
		MaxMessageBytes: 4096, MaxConnections: 1, IdleTimeout: 5 * time.Second, FlushEvents: 10, FlushInterval: 10 * time.Millisecond,
	}, Deps{Log: st, Progress: busyProgress{busy: func() bool { mu.Lock(); defer mu.Unlock(); return busy }}})
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
	if _, err := conn.Write([]byte("<13>Nov 25 10:00:01 h app: waits\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if st.Size() != 0 {
		t.Fatalf("stored %d events while busy", st.Size())
	}
	mu.Lock()
	busy = false
	mu.Unlock()
	waitFor(t, "the event after backpressure ends", func() bool { return st.Size() == 1 })
}

// busyProgress is a gateway.Progress whose Busy the test switches.
type busyProgress struct{ busy func() bool }

func (p busyProgress) Status() gateway.AnchorStatus                  { return gateway.AnchorStatus{} }
func (p busyProgress) Subscribe(func(gateway.Batch, gateway.Anchor)) {}
func (p busyProgress) Appended(uint64, time.Time)                    {}
func (p busyProgress) Busy(context.Context) (bool, string)           { return p.busy(), "test" }
func (p busyProgress) RetryAfter() time.Duration                     { return time.Second }
