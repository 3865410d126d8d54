package syslogd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// dialFrom connects to addr from the loopback address local (any of
// 127.0.0.0/8 works on Linux), so tests can play several sources.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// closedByServer reports whether the server closed c (a read ends with
// EOF or a reset) rather than keeping it open (the read times out).
func closedByServer(t *testing.T, c net.Conn, wait time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	if err == nil {
		t.Fatal("the server wrote to a syslog connection")
	}
	return true
}

func opened(obs *counts) int { n, _, _, _ := obs.fairness(); return n }

// Every slot held by idle connections: a new sender evicts the one idle
// longest, its message is stored, and the others stay open.
func TestIdleConnectionsEvictedForNewSender(t *testing.T) {
	const grace = 100 * time.Millisecond
	_, st, obs, addr := startWith(t, "127.0.0.0/8", func(c *Config) { c.EvictIdleAfter = grace })
	var idle []net.Conn
	for i := range 4 { // MaxConnections
		c := dialFrom(t, "127.0.0.1", addr)
		send(t, c, fmt.Sprintf("<13>Nov 25 10:00:01 idle%d app: hello then silence\n", i))
		waitFor(t, "the connection to be served", func() bool { return opened(obs) == i+1 })
		idle = append(idle, c)
		time.Sleep(20 * time.Millisecond) // idle[0] is the longest idle
	}
	waitFor(t, "4 stored events", func() bool { return st.Size() == 4 })
	time.Sleep(grace)

	c := dialFrom(t, "127.0.0.9", addr)
	send(t, c, "<13>Nov 25 10:00:02 newcomer app: still heard\n")
	waitFor(t, "the newcomer's event", func() bool { return st.Size() == 5 })
	ev, err := st.EventBySeq(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Host != "newcomer" {
		t.Errorf("event 4 host %q, want newcomer", ev.Host)
	}
	if !closedByServer(t, idle[0], 5*time.Second) {
		t.Error("the longest idle connection was not evicted")
	}
	for i, c := range idle[1:] {
		if closedByServer(t, c, 50*time.Millisecond) {
			t.Errorf("idle connection %d was closed, want only the longest idle one", i+1)
		}
	}
	_, refused, evicted, _ := obs.fairness()
	if got, want := evicted[ReasonConnectionLimit], 1; got != want || len(refused) != 0 {
		t.Errorf("evicted %v refused %v, want connection_limit:1 and none refused", evicted, refused)
	}
}

// When no connection has been idle for the grace period, every slot is in
// real use: a newcomer is refused, counted, and nothing else changes.
func TestFullAndNoneIdleRefuses(t *testing.T) {
	_, _, obs, addr := startWith(t, "127.0.0.0/8", func(c *Config) { c.EvictIdleAfter = time.Hour })
	for i := range 4 {
		dialFrom(t, "127.0.0.1", addr)
		waitFor(t, "the connection to be served", func() bool { return opened(obs) == i+1 })
	}
	c := dialFrom(t, "127.0.0.9", addr)
	send(t, c, "<13>Nov 25 10:00:02 late app: refused\n")
	if !closedByServer(t, c, 5*time.Second) {
		t.Fatal("a fifth connection was served with 4 slots")
	}
	waitFor(t, "the refusal to be counted", func() bool {
		_, refused, _, _ := obs.fairness()
		return refused[ReasonConnectionLimit] == 1
	})
	if _, rejected := obs.get(); rejected["busy"] != 1 {
		t.Errorf("rejected = %v, want busy:1", rejected)
	}
	if _, _, evicted, _ := obs.fairness(); len(evicted) != 0 {
		t.Errorf("evicted %v, want none", evicted)
	}
}

// One source holds at most its limit; other sources are still served; a
// source at its limit may evict its own idle connection, never another's.
func TestPerSourceLimit(t *testing.T) {
	tests := []struct {
		name        string
		grace       time.Duration
		wantThird   bool // the source's third connection is served
		wantRefused map[string]int
		wantEvicted map[string]int
	}{
		{"none idle: refused", time.Hour, false, map[string]int{ReasonSourceLimit: 1}, nil},
		{"own idle: evicted", 100 * time.Millisecond, true, nil, map[string]int{ReasonSourceLimit: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, st, obs, addr := startWith(t, "127.0.0.0/8", func(c *Config) {
				c.MaxConnections, c.MaxConnectionsPerSource, c.EvictIdleAfter = 8, 2, tt.grace
			})
			other := dialFrom(t, "127.0.0.3", addr) // older and idle, but another source
			waitFor(t, "the connection to be served", func() bool { return opened(obs) == 1 })
			var own []net.Conn
			for i := range 2 {
				own = append(own, dialFrom(t, "127.0.0.2", addr))
				waitFor(t, "the connection to be served", func() bool { return opened(obs) == i+2 })
			}
			time.Sleep(150 * time.Millisecond)
			third := dialFrom(t, "127.0.0.2", addr)
			send(t, third, "<13>Nov 25 10:00:02 third app: over the source limit\n")
			served := !closedByServer(t, third, 300*time.Millisecond)
			if served != tt.wantThird {
				t.Fatalf("third connection served = %t, want %t", served, tt.wantThird)
			}
			if tt.wantThird {
				waitFor(t, "the third connection's event", func() bool { return st.Size() == 1 })
				if !closedByServer(t, own[0], 5*time.Second) {
					t.Error("the source's longest idle connection was not evicted")
				}
			}
			if closedByServer(t, other, 50*time.Millisecond) {
				t.Error("another source's connection was closed")
			}
			srv.mu.Lock()
			perSource := srv.slots.bySource[netip.MustParsePrefix("127.0.0.2/32")]
			srv.mu.Unlock()
			if perSource != 2 {
				t.Errorf("source holds %d slots, want 2", perSource)
			}
			// Another source is served while this one is at its limit.
			c := dialFrom(t, "127.0.0.4", addr)
			send(t, c, "<13>Nov 25 10:00:03 other app: served\n")
			want := uint64(1)
			if tt.wantThird {
				want = 2
			}
			waitFor(t, "the other source's event", func() bool { return st.Size() == want })
			_, refused, evicted, _ := obs.fairness()
			if !equalCounts(refused, tt.wantRefused) || !equalCounts(evicted, tt.wantEvicted) {
				t.Errorf("refused %v evicted %v, want %v and %v", refused, evicted, tt.wantRefused, tt.wantEvicted)
			}
		})
	}
}

func equalCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// A connection held back by backpressure has unread data: it is never
// evicted, and its message is stored once the gateway catches up.
func TestBackpressuredConnectionNotEvicted(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	busy := true
	obs := &counts{}
	srv, err := New(Config{
		Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Meta: ingest.Meta{Source: "syslog"},
		MaxMessageBytes: 4096, MaxConnections: 1, EvictIdleAfter: 20 * time.Millisecond,
		IdleTimeout: 5 * time.Second, FlushEvents: 10, FlushInterval: 10 * time.Millisecond,
	}, Deps{Log: st, Observer: obs, Progress: busyProgress{busy: func() bool { mu.Lock(); defer mu.Unlock(); return busy }}})
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
	held := dialFrom(t, "127.0.0.1", ln.Addr().String())
	send(t, held, "<13>Nov 25 10:00:01 held app: waits for the gateway\n")
	waitFor(t, "the connection to be served", func() bool { return opened(obs) == 1 })
	time.Sleep(100 * time.Millisecond)
	c := dialFrom(t, "127.0.0.2", ln.Addr().String())
	if !closedByServer(t, c, 5*time.Second) {
		t.Fatal("a second connection was served with 1 slot")
	}
	mu.Lock()
	busy = false
	mu.Unlock()
	waitFor(t, "the held message", func() bool { return st.Size() == 1 })
	_, refused, evicted, _ := obs.fairness()
	if refused[ReasonConnectionLimit] != 1 || len(evicted) != 0 {
		t.Errorf("refused %v evicted %v, want connection_limit:1 and none evicted", refused, evicted)
	}
}

// Dropped messages are counted by reason.
func TestDroppedMessagesCounted(t *testing.T) {
	_, st, obs, addr := start(t, "127.0.0.0/8")
	c := dialFrom(t, "127.0.0.1", addr)
	send(t, c, "not syslog\n<13>Nov 25 10:00:01 h app: kept\n99999 <34>1 too large")
	waitFor(t, "the kept event", func() bool { return st.Size() == 1 })
	waitFor(t, "the drops to be counted", func() bool {
		_, _, _, dropped := obs.fairness()
		return equalCounts(dropped, map[string]int{ReasonInvalid: 1, ReasonTooLarge: 1})
	})
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"10.1.2.3", "10.1.2.3/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		if got := sourceKey(netip.MustParseAddr(tt.ip)); got.String() != tt.want {
			t.Errorf("sourceKey(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

func TestLogLimiter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	l := newLogLimiter(time.Minute, 2)
	tests := []struct {
		kind           string
		at             time.Duration
		wantOK         bool
		wantSuppressed int
	}{
		{"a", 0, true, 0},
		{"a", time.Second, true, 0},
		{"a", 2 * time.Second, false, 0},
		{"b", 3 * time.Second, true, 0}, // kinds have their own budget
		{"a", 4 * time.Second, false, 0},
		{"a", time.Minute, true, 2}, // a new window says how many were held back
		{"a", time.Minute + time.Second, true, 0},
	}
	for i, tt := range tests {
		ok, suppressed := l.allow(tt.kind, t0.Add(tt.at))
		if ok != tt.wantOK || suppressed != tt.wantSuppressed {
			t.Errorf("%d: allow(%s, +%v) = %t, %d; want %t, %d", i, tt.kind, tt.at, ok, suppressed, tt.wantOK, tt.wantSuppressed)
		}
	}
}

func TestNewRefusesNegativeFairness(t *testing.T) {
	base := Config{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxMessageBytes: 1, MaxConnections: 1,
		IdleTimeout: time.Second, FlushEvents: 1, FlushInterval: time.Second}
	for _, tune := range []func(*Config){
		func(c *Config) { c.MaxConnectionsPerSource = -1 },
		func(c *Config) { c.EvictIdleAfter = -time.Second },
	} {
		c := base
		tune(&c)
		_, err := New(c, Deps{Log: nopLog{}})
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("New(%+v) error = %v, want *ConfigError", c, err)
		}
	}
	srv, err := New(base, Deps{Log: nopLog{}})
	if err != nil {
		t.Fatal(err)
	}
	if srv.cfg.MaxConnectionsPerSource != DefaultMaxConnectionsPerSource || srv.cfg.EvictIdleAfter != DefaultEvictIdleAfter {
		t.Errorf("zero fairness settings = %d, %v; want the defaults", srv.cfg.MaxConnectionsPerSource, srv.cfg.EvictIdleAfter)
	}
}

// nopLog is an EventLog for tests that never store.
type nopLog struct{ gateway.EventLog }
