package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

var update = flag.Bool("update", false, "rewrite testdata/golden with the current responses")

// Test credentials: one per scope, plus variants.
const (
	tokHEC      = "test-hec-token"
	tokHECNoAck = "test-hec-noack-token"
	tokES       = "test-es-token"
	tokOTLP     = "test-otlp-token"
	tokNDJSON   = "test-ndjson-token"
	tokRead     = "test-read-token"
	tokDisabled = "test-disabled-token"
	channelID   = "11111111-2222-3333-4444-555555555555"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// testCfg is what a test may change: the API's settings and the
// anchorer's backpressure.
type testCfg struct {
	Config
	Backpressure anchor.Backpressure
}

// testConfig is the gateway's default configuration as the API sees it
// (config.Default assembled by config.Config.HTTPAPI), with test limits
// and credentials.
func testConfig() testCfg {
	return testCfg{
		Config: Config{
			Listen:              "127.0.0.1:8088",
			Limits:              ingest.Limits{MaxBodyBytes: 64 << 10, MaxLineBytes: 16 << 10, MaxEvents: 1000},
			HEC:                 HEC{MaxChannels: 10_000, MaxAcksPerChannel: 100_000, ChannelIdleTimeout: 10 * time.Minute},
			Elasticsearch:       Elasticsearch{ClusterName: "ledgerguard", ClusterUUID: "c0ffee00-0000-4000-8000-000000000001"},
			LedgerProbeInterval: 15 * time.Second,
			LedgerStaleAfter:    time.Minute,
			Credentials: []gateway.Credential{
				{Name: "splunk", Token: tokHEC, Scopes: []gateway.Scope{gateway.ScopeHEC}, Indexes: []string{"main", "security"}, Ack: true, Sourcetype: "_json"},
				{Name: "splunk-noack", Token: tokHECNoAck, Scopes: []gateway.Scope{gateway.ScopeHEC}},
				{Name: "beats", Token: tokES, Username: "elastic", Scopes: []gateway.Scope{gateway.ScopeElasticsearch}, Indexes: []string{"logs"}},
				{Name: "otel", Token: tokOTLP, Scopes: []gateway.Scope{gateway.ScopeOTLP}},
				{Name: "native", Token: tokNDJSON, Scopes: []gateway.Scope{gateway.ScopeNDJSON}, Indexes: []string{"main"}},
				{Name: "auditor", Token: tokRead, Scopes: []gateway.Scope{gateway.ScopeRead}},
				{Name: "old", Token: tokDisabled, Scopes: []gateway.Scope{gateway.ScopeHEC, gateway.ScopeNDJSON}, Disabled: true},
			},
		},
		Backpressure: anchor.DefaultBackpressure,
	}
}

// testProgress is the anchorer with a pending count a test can inflate
// (backpressure tests); Busy applies the anchorer's own policy to it.
type testProgress struct {
	*anchor.Anchorer
	h  *harness
	bp anchor.Backpressure
}

func (p testProgress) Status() gateway.AnchorStatus {
	s := p.Anchorer.Status()
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	s.Pending = max(s.Pending, p.h.pending)
	return s
}

func (p testProgress) Busy(ctx context.Context) (bool, string) {
	cp, err := p.h.st.Checkpoint(ctx)
	if err != nil {
		return false, ""
	}
	return p.bp.Check(p.Status(), cp.Size)
}

// fakeLedger anchors every batch with a deterministic transaction.
type fakeLedger struct {
	mu    sync.Mutex
	block uint64
}

func (l *fakeLedger) AnchorBatch(_ context.Context, b gateway.Batch) (gateway.Anchor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.block++
	return gateway.Anchor{TxID: "tx-" + b.ID[:16], BlockNumber: l.block}, nil
}

type harness struct {
	t       testing.TB
	srv     *Server
	st      *store.Store
	anch    *anchor.Anchorer
	mu      sync.Mutex
	pending int // reported anchor pending count (backpressure tests)
}

// newHarness opens a real store in a temporary folder, an anchorer over a
// fake ledger, and the API with a fixed clock.
func newHarness(t testing.TB, mutate func(*testCfg)) *harness {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := func() time.Time { return t0 }
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"), store.WithClock(clock), store.WithMemTableSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	anch, err := anchor.New(st, &fakeLedger{}, anchor.WithIdlePoll(10*time.Millisecond), anchor.WithLogger(slog.New(slog.DiscardHandler)),
		anchor.WithClock(clock), anchor.WithBackpressure(cfg.Backpressure, st))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, anch: anch}
	var nonces atomic.Uint64
	h.srv, err = New(cfg.Config, Deps{
		Log: st, Batches: st, Now: clock,
		// Reproducible per-request nonces keep the golden ids stable.
		Nonce:    func() string { return fmt.Sprintf("test-nonce-%d", nonces.Add(1)) },
		Logger:   slog.New(slog.DiscardHandler),
		Progress: testProgress{Anchorer: anch, h: h, bp: cfg.Backpressure},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = anch.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return h
}

// req is one request to the API.
type req struct {
	method, path string
	auth         string
	header       map[string]string
	body         []byte
}

func (h *harness) do(r req) *httptest.ResponseRecorder {
	h.t.Helper()
	hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, hr)
	return w
}

// sealAndAnchor seals the open batch and waits until the API has seen the
// whole log anchored.
func (h *harness) sealAndAnchor() {
	h.t.Helper()
	if _, _, err := h.st.Seal(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.anch.Wake()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if a := h.anch.Status().TreeSize; a == h.st.Size() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("anchored size %d never reached %d", h.anch.Status().TreeSize, h.st.Size())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// golden compares a JSON body with testdata/golden/name.json (indented, and
// with the Elasticsearch "took" zeroed) or rewrites it under -update.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", name, err, body)
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["took"]; ok {
			m["took"] = 0
		}
	}
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, w.Body.Bytes())
	}
	return v
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func basic(user, pass string) string {
	return "Basic " + b64(user+":"+pass)
}

func ndjsonLines(n int, format string) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format+"\n", i)
	}
	return []byte(b.String())
}
