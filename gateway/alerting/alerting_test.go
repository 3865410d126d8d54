package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/ledgerguard/ledgerguard/gateway/pseudonym"
)

type memLog struct {
	mu      sync.Mutex // guards batches' states (anchor)
	events  []gateway.Event
	batches []gateway.Batch
}

// anchor marks batch i anchored, as the anchorer would while the
// alerter runs.
func (m *memLog) anchor(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches[i].State = gateway.BatchAnchored
}

// HeaderLeaves returns the events with the canonical bytes and leaf
// hashes a store would hold for them, as partial leaves (the header read
// from the bytes, the whole event decoded from them on demand) as the
// store's HeaderLeaves returns them.
func (m *memLog) HeaderLeaves(_ context.Context, from, to uint64) ([]gateway.Leaf, error) {
	if from > to || to > uint64(len(m.events)) {
		return nil, fmt.Errorf("no events %d..%d", from, to)
	}
	var out []gateway.Leaf
	for _, ev := range m.events[from:to] {
		c, err := ev.Canonical()
		if err != nil {
			return nil, err
		}
		h, ok := gateway.ReadHeader(c, nil)
		if !ok {
			return nil, fmt.Errorf("header of %s", c)
		}
		var hash [32]byte
		copy(hash[:], merkle.LeafHash(c))
		out = append(out, gateway.HeaderLeaf(h, c, hash, decodeJSON))
	}
	return out, nil
}

// decodeJSON decodes canonical bytes as the store does (numbers as
// json.Number).
func decodeJSON(c []byte, _ uint64) (gateway.Event, error) {
	var ev gateway.Event
	d := json.NewDecoder(bytes.NewReader(c))
	d.UseNumber()
	return ev, d.Decode(&ev)
}

func (m *memLog) BatchOf(_ context.Context, seq uint64) (gateway.Batch, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		if seq >= b.TreeSizeBefore && seq < b.TreeSizeAfter {
			return b, true, nil
		}
	}
	return gateway.Batch{}, false, nil
}

// authModel is flagUsers' model; newLog's batches list it, as a store's
// batches list the models in force when they were sealed.
var authModel = gateway.ModelRef{ID: "auth", Version: "1", SHA256: strings.Repeat("a", 64)}

// flagUsers flags events whose user.name starts with "bad".
type flagUsers struct{}

func (flagUsers) Detect(_ context.Context, evs []gateway.Event) ([]detect.Result, error) {
	var out []detect.Result
	for i, ev := range evs {
		u, _ := ev.Fields["user.name"].(string)
		bad := strings.HasPrefix(u, "bad")
		score := 0.1
		if bad {
			score = 0.99
		}
		out = append(out, detect.Result{Index: i, EventID: ev.ID, Model: authModel.ID, Version: authModel.Version, SHA256: authModel.SHA256, Score: score, Flagged: bad, Label: "bruteforce", Category: "T1110"})
	}
	return out, nil
}

type fakeRaiser struct {
	mu        sync.Mutex
	calls     [][]wire.Alert
	failFirst int
}

func (f *fakeRaiser) RaiseAlerts(_ context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFirst > 0 {
		f.failFirst--
		return wire.RaiseResult{}, fmt.Errorf("endorse: %w", gateway.ErrLedgerUnavailable)
	}
	f.calls = append(f.calls, alerts)
	return wire.RaiseResult{Created: len(alerts)}, nil
}

func (f *fakeRaiser) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		for _, a := range c {
			out = append(out, a.ID)
		}
	}
	return out
}

func newLog(users []string, batchSizes []int, anchored int) *memLog {
	m := &memLog{}
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	for i, u := range users {
		m.events = append(m.events, gateway.Event{ID: fmt.Sprintf("e%d", i), Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Second),
			Class: gateway.ClassAuth, Sourcetype: "linux:auth", Fields: map[string]any{"user.name": u, "source.ip": "10.0.0.7", "host.name": "ssh-01"}})
	}
	var at uint64
	for i, n := range batchSizes {
		st := gateway.BatchSealed
		if i < anchored {
			st = gateway.BatchAnchored
		}
		m.batches = append(m.batches, gateway.Batch{ID: fmt.Sprintf("%064d", i), TreeSizeBefore: at, TreeSizeAfter: at + uint64(n), State: st,
			Models: []gateway.ModelRef{authModel}})
		at += uint64(n)
	}
	return m
}

func quietCfg(t testing.TB) Config {
	return Config{MSP: "Org1MSP", GatewayID: "gw-1", StateDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func runFor(t *testing.T, a *Alerter, until func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !until() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if !until() {
		t.Fatal("condition not reached in 5s")
	}
}

func TestRaisesFlaggedEventsOfAnchoredBatchesOnly(t *testing.T) {
	log := newLog([]string{"alice", "bad1", "bob", "bad2", "bad3"}, []int{2, 2, 1}, 2)
	r := &fakeRaiser{failFirst: 2}
	cfg := quietCfg(t)
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 4 })
	if got, want := len(r.ids()), 2; got != want {
		t.Fatalf("raised %d alerts, want %d (bad3 is in an unanchored batch)", got, want)
	}
	first := r.calls[0][0]
	if first.BatchID != log.batches[0].ID || first.Category != "T1110" || first.Severity != wire.SeverityCritical || first.Principal != "bad1" {
		t.Fatalf("alert = %+v, want batch 0, T1110, critical, principal bad1", first)
	}
	if want := wire.AlertID("Org1MSP", "gw-1", first.EventHash, "auth", "1"); first.ID != want {
		t.Fatalf("alert id = %s, want %s", first.ID, want)
	}
	if err := first.Validate("alert"); err != nil {
		t.Fatalf("alert does not pass the chaincode's validation: %v", err)
	}

	// A restart resumes at the durable watermark: nothing raised twice,
	// and the newly anchored batch is processed.
	log.batches[2].State = gateway.BatchAnchored
	b, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, b, func() bool { return b.Status().Watermark == 5 })
	if got := r.ids(); len(got) != 3 || got[0] == got[2] {
		t.Fatalf("after restart raised %v, want 3 distinct alerts", got)
	}
}

// TestChunksLargeBatches: a batch with more alerts than one transaction
// takes (MaxPerBatchTx, the chaincode's limit) is raised in order in
// transactions of that many.
func TestChunksLargeBatches(t *testing.T) {
	users := make([]string, MaxPerBatchTx+10)
	for i := range users {
		users[i] = fmt.Sprintf("bad%d", i)
	}
	log := newLog(users, []int{len(users)}, 1)
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == uint64(len(users)) })
	var sizes []int
	for _, c := range r.calls {
		sizes = append(sizes, len(c))
	}
	if len(sizes) != 2 || sizes[0] != MaxPerBatchTx || sizes[1] != 10 {
		t.Fatalf("calls of sizes %v, want [%d 10]", sizes, MaxPerBatchTx)
	}
}

func TestVaultPseudonymisesAndResolves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault")
	v, err := pseudonym.OpenVault(path, []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	log := newLog([]string{"bad-alice"}, []int{1}, 1)
	r := &fakeRaiser{}
	cfg := quietCfg(t)
	cfg.Vault = v
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 1 })
	al := r.calls[0][0]
	tests := []struct{ name, got, raw string }{
		{"principal (user name)", al.Principal, "bad-alice"},
		{"fields.user", al.Fields["user"], "bad-alice"},
		{"fields.source_ip (private)", al.Fields["source_ip"], "10.0.0.7"},
	}
	for _, tt := range tests {
		if !strings.HasPrefix(tt.got, wire.PseudonymPrefix) {
			t.Errorf("%s = %q, want a pseudonym", tt.name, tt.got)
		}
	}
	if al.Asset != "ssh-01" {
		t.Errorf("asset = %q, want the host name in clear", al.Asset)
	}
	v.Close()
	reopened, err := pseudonym.OpenVault(path, []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got, ok := reopened.Resolve(tt.got); !ok || got != tt.raw {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tt.name, got, ok, tt.raw)
		}
	}
}

// dedupRaiser answers like a ledger with a dedup rule merging every alert
// after the first of each call, and a suppress rule matching the first.
type dedupRaiser struct{}

func (dedupRaiser) RaiseAlerts(_ context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	res := wire.RaiseResult{Created: 1, Existing: []string{}, Suppressed: []string{alerts[0].ID}}
	for i, a := range alerts[1:] {
		res.Merged = append(res.Merged, wire.MergedAlert{AlertID: a.ID, IntoBatchID: a.BatchID, IntoAlertID: alerts[0].ID, Count: i + 2})
	}
	return res, nil
}

// TestStatusCountsMergedAndSuppressed checks that the alerter accounts for
// every detection the ledger merged or suppressed: created + merged is
// every detection sent.
func TestStatusCountsMergedAndSuppressed(t *testing.T) {
	log := newLog([]string{"bad1", "bad2", "bad3", "bad4"}, []int{4}, 1)
	a, err := New(quietCfg(t), log, flagUsers{}, dedupRaiser{})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 4 })
	st := a.Status()
	if got, want := [3]uint64{st.Raised, st.Merged, st.Suppressed}, [3]uint64{1, 3, 1}; got != want {
		t.Fatalf("raised, merged, suppressed = %v, want %v", got, want)
	}
}

// TestOnlyModelsTheBatchListsAlert: a batch sealed while a model was not
// in force (strict mode before the ledger could be read) gets no alert
// from it, since the ledger would refuse that alert on every retry and
// stall alerting; the batches after it are alerted as usual.
func TestOnlyModelsTheBatchListsAlert(t *testing.T) {
	log := newLog([]string{"bad0", "ok", "bad1", "ok"}, []int{2, 2}, 2)
	log.batches[0].Models = []gateway.ModelRef{}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 4 })
	ids := r.ids()
	if got, want := len(ids), 1; got != want {
		t.Fatalf("alerts raised = %d, want %d (only the batch listing the model)", got, want)
	}
	r.mu.Lock()
	got := r.calls[0][0].BatchID
	r.mu.Unlock()
	if want := log.batches[1].ID; got != want {
		t.Errorf("alert cites batch %s, want %s", got, want)
	}
}

// TestWaitsWhileDetectionIdle: while the detector serves no model (strict
// mode before the ledger is read) the alerter does not pass batches that
// list models; once the models are served it scores and alerts them.
func TestWaitsWhileDetectionIdle(t *testing.T) {
	log := newLog([]string{"bad0", "ok", "bad1", "ok"}, []int{2, 2}, 2)
	var mu sync.Mutex
	var served []gateway.ModelRef
	cfg := quietCfg(t)
	cfg.Served = func() []gateway.ModelRef { mu.Lock(); defer mu.Unlock(); return served }
	r := &fakeRaiser{}
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	progressed, err := a.step(context.Background())
	if err != nil || progressed {
		t.Fatalf("step while idle = %v, %v; want no progress, no error", progressed, err)
	}
	if got := a.Status().Position; got != 0 {
		t.Fatalf("position while idle = %d, want 0", got)
	}
	mu.Lock()
	served = []gateway.ModelRef{authModel}
	mu.Unlock()
	runFor(t, a, func() bool { return a.Status().Watermark == 4 })
	if got, want := len(r.ids()), 2; got != want {
		t.Errorf("alerts once served = %d, want %d", got, want)
	}
}

// intelOn flags, as the intel matcher would, every event of user u with
// an AMBER indicator on its source.ip.
type intelOn struct{ user string }

func (d intelOn) Detect(_ context.Context, evs []gateway.Event) ([]detect.Result, error) {
	var out []detect.Result
	for i, ev := range evs {
		if ev.Fields["user.name"] == d.user {
			out = append(out, detect.Result{Index: i, EventID: ev.ID, Model: wire.DetectorIntelMatch, Version: strings.Repeat("1", 64),
				SHA256: strings.Repeat("2", 64), Score: 0.9, Flagged: true, Label: "intel-ipv4", Category: "T1071",
				Fields: map[string]string{wire.AlertFieldIntelSharedBy: "Org2MSP", wire.AlertFieldIntelType: "ipv4", "class": "overridden?"},
				Redact: []string{"source.ip"}})
		}
	}
	return out, nil
}

func TestRaisesIntelMatchesWithTheirFieldsAndRedactions(t *testing.T) {
	log := newLog([]string{"alice", "bad1"}, []int{2}, 1) // the batch lists only the auth model
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, detect.Join(flagUsers{}, intelOn{user: "alice"}), r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 2 })
	if len(r.calls) != 1 || len(r.calls[0]) != 2 {
		t.Fatalf("raised %v, want the intel match and the auth detection", r.calls)
	}
	in := r.calls[0][0]
	if in.Detector.ID != wire.DetectorIntelMatch || in.Category != "T1071" || in.Principal != "alice" {
		t.Fatalf("intel alert = %+v", in)
	}
	if in.Fields[wire.AlertFieldIntelSharedBy] != "Org2MSP" || in.Fields["class"] != string(gateway.ClassAuth) {
		t.Errorf("intel alert fields = %v; want the detector's fields added, the alerter's own kept", in.Fields)
	}
	if _, ok := in.Fields["source_ip"]; ok {
		t.Errorf("intel alert carries the redacted source.ip: %v", in.Fields)
	}
	if got := r.calls[0][1].Fields["source_ip"]; got != "10.0.0.7" {
		t.Errorf("the auth alert of the same batch lost its source_ip (%q): redaction must not leak across verdicts", got)
	}
	if err := in.Validate("alert"); err != nil {
		t.Fatalf("intel alert does not pass the chaincode's validation: %v", err)
	}
}

// countingDetector counts the events it was asked to score.
type countingDetector struct {
	detect.Detector
	mu     sync.Mutex
	scored int
}

func (c *countingDetector) Detect(ctx context.Context, evs []gateway.Event) ([]detect.Result, error) {
	c.mu.Lock()
	c.scored += len(evs)
	c.mu.Unlock()
	return c.Detector.Detect(ctx, evs)
}

func (c *countingDetector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scored
}

// TestScoresSealedBatchesAheadOfAnchoring: sealed batches are scored
// before they are anchored (detection overlaps the ledger's commit) but
// their alerts are raised only once anchored, and each event is scored
// once.
func TestScoresSealedBatchesAheadOfAnchoring(t *testing.T) {
	log := newLog([]string{"bad0", "ok", "bad1", "ok", "bad2"}, []int{2, 2, 1}, 0)
	det := &countingDetector{Detector: flagUsers{}}
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, det, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatalf("%s: not reached in 5s", what)
			}
		}
	}
	waitFor("every sealed event scored ahead", func() bool { return det.count() == 5 })
	if got := len(r.ids()); got != 0 {
		t.Fatalf("raised %d alerts before any batch was anchored, want 0", got)
	}
	log.anchor(0)
	log.anchor(1)
	a.Wake()
	waitFor("watermark 4", func() bool { return a.Status().Watermark == 4 })
	if got, want := len(r.ids()), 2; got != want {
		t.Fatalf("raised %d alerts, want %d (the third batch is not anchored)", got, want)
	}
	log.anchor(2)
	a.Wake()
	waitFor("watermark 5", func() bool { return a.Status().Watermark == 5 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if got, want := det.count(), 5; got != want {
		t.Errorf("events scored = %d, want %d (each once)", got, want)
	}
	if got := len(r.ids()); got != 3 {
		t.Errorf("raised %d alerts, want 3", got)
	}
	a.scoreMu.Lock()
	defer a.scoreMu.Unlock()
	if len(a.ahead) != 0 || a.aheadN != 0 {
		t.Errorf("alerts kept after raising: %d batches, %d events", len(a.ahead), a.aheadN)
	}
}
