package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/config"
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

func testConfig() config.Config {
	c := config.Default()
	c.Ledger.Profile = "unused.json"
	c.Syslog.Enabled = false
	c.Limits.MaxBodyBytes = 64 << 10
	c.Limits.MaxLineBytes = 16 << 10
	c.Limits.MaxEvents = 1000
	c.Credentials = []config.Credential{
		{Name: "splunk", Token: tokHEC, Scopes: []config.Scope{config.ScopeHEC}, Indexes: []string{"main", "security"}, Ack: true, Sourcetype: "_json"},
		{Name: "splunk-noack", Token: tokHECNoAck, Scopes: []config.Scope{config.ScopeHEC}},
		{Name: "beats", Token: tokES, Username: "elastic", Scopes: []config.Scope{config.ScopeElasticsearch}, Indexes: []string{"logs"}},
		{Name: "otel", Token: tokOTLP, Scopes: []config.Scope{config.ScopeOTLP}},
		{Name: "native", Token: tokNDJSON, Scopes: []config.Scope{config.ScopeNDJSON}, Indexes: []string{"main"}},
		{Name: "auditor", Token: tokRead, Scopes: []config.Scope{config.ScopeRead}},
		{Name: "old", Token: tokDisabled, Scopes: []config.Scope{config.ScopeHEC, config.ScopeNDJSON}, Disabled: true},
	}
	return c
}

// storeClassifier is what gateway/cmd wires: the store's errors by type.
func storeClassifier(err error) Code {
	var enf *store.EventNotFoundError
	var bnf *store.BatchNotFoundError
	var tse *store.TreeSizeError
	var fe *store.FatalError
	switch {
	case errors.As(err, &enf), errors.As(err, &bnf):
		return CodeNotFound
	case errors.As(err, &tse):
		return CodeInvalid
	case errors.As(err, &fe):
		return CodeStoreFailed
	case errors.Is(err, store.ErrClosed):
		return CodeUnavailable
	}
	return ""
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
	pending int // reported anchor pending count (backpressure tests)
}

// newHarness opens a real store in a temporary folder, an anchorer over a
// fake ledger, and the API with a fixed clock.
func newHarness(t testing.TB, mutate func(*config.Config)) *harness {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := func() time.Time { return t0 }
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"), store.WithClock(clock), store.WithMemTableSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	anch, err := anchor.New(st, &fakeLedger{}, anchor.WithIdlePoll(10*time.Millisecond), anchor.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, anch: anch}
	var mu sync.Mutex
	h.srv, err = New(cfg, Deps{
		Log: st, Batches: st, Classify: storeClassifier, Now: clock,
		Logger: slog.New(slog.DiscardHandler),
		Anchoring: func() AnchorStatus {
			mu.Lock()
			defer mu.Unlock()
			s := anch.Status()
			return AnchorStatus{Pending: max(s.Pending, h.pending), Rejected: s.Rejected, LastError: s.LastError}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	anch.OnAnchored(h.srv.OnAnchored)
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
		a, _, _ := h.srv.prog.snapshot(t0)
		if a == h.st.Size() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("anchored size %d never reached %d", a, h.st.Size())
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
