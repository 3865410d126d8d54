package provenance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// fakeLedger serves ListModels from a slice, honouring the page size and
// bookmarks (the bookmark is the index of the next record).
type fakeLedger struct {
	mu      sync.Mutex
	records []wire.ModelRecord
	err     error
	calls   int
}

func (f *fakeLedger) ListModels(_ context.Context, filter wire.ModelFilter, pageSize int32, bookmark string) (wire.Page[wire.ModelRecord], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return wire.Page[wire.ModelRecord]{}, f.err
	}
	start := 0
	if bookmark != "" {
		start, _ = strconv.Atoi(bookmark)
	}
	end := min(start+int(pageSize), len(f.records))
	page := wire.Page[wire.ModelRecord]{Records: []wire.ModelRecord{}, Fetched: int32(end - start)}
	for _, r := range f.records[start:end] {
		if filter.Match(&r) {
			page.Records = append(page.Records, r)
		}
	}
	if end < len(f.records) {
		page.Bookmark = strconv.Itoa(end)
	}
	return page, nil
}

func (f *fakeLedger) set(records ...wire.ModelRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = records
}

func (f *fakeLedger) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func hash(s string) string {
	h, _ := provenance.FeaturesSHA256(features.Spec{Features: []features.Feature{{Name: s, Kind: "numeric", Field: s}}})
	return h
}

var nsl = provenance.Model{Name: "nsl-kdd-flow", Version: "1.0.0", SHA256: hash("model"), FeaturesSHA256: hash("features")}

func record(m provenance.Model, state string, approvals int) wire.ModelRecord {
	r := wire.ModelRecord{Name: m.Name, Version: m.Version, SHA256: m.SHA256, FeaturesSHA256: m.FeaturesSHA256, Quorum: 2, State: state}
	for i := range approvals {
		r.Approvals = append(r.Approvals, wire.Approval{MSP: "Org" + strconv.Itoa(i+1) + "MSP"})
	}
	if state == wire.ModelRevoked {
		r.RevokedBy, r.RevokeReason = &wire.Actor{MSP: "Org2MSP"}, "false positives"
	}
	return r
}

func TestCheck(t *testing.T) {
	other := nsl
	other.Version = "1.1.0"
	tests := []struct {
		name    string
		ledger  []wire.ModelRecord
		model   func(m provenance.Model) provenance.Model
		want    provenance.Reason // "" = allowed
		wantMsg string
	}{
		{"approved", []wire.ModelRecord{record(nsl, wire.ModelApproved, 2)}, nil, "", ""},
		{"unregistered", nil, nil, provenance.Unregistered, ""},
		{"other version registered", []wire.ModelRecord{record(other, wire.ModelApproved, 2)}, nil, provenance.Unregistered, ""},
		{"pending", []wire.ModelRecord{record(nsl, wire.ModelRegistered, 1)}, nil, provenance.Pending, "1 of 2 approvals"},
		{"revoked", []wire.ModelRecord{record(nsl, wire.ModelRevoked, 2)}, nil, provenance.Revoked, "Org2MSP: false positives"},
		{"file swapped", []wire.ModelRecord{record(nsl, wire.ModelApproved, 2)},
			func(m provenance.Model) provenance.Model { m.SHA256 = hash("evil"); return m }, provenance.HashMismatch, nsl.SHA256},
		{"features edited", []wire.ModelRecord{record(nsl, wire.ModelApproved, 2)},
			func(m provenance.Model) provenance.Model { m.FeaturesSHA256 = hash("edited"); return m }, provenance.FeaturesMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &fakeLedger{records: tt.ledger}
			c, err := provenance.New(l, provenance.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			m := nsl
			if tt.model != nil {
				m = tt.model(m)
			}
			err = c.Check(m)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check() = %v, want allowed", err)
				}
				return
			}
			var re *provenance.RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Check() = %v, want *RefusedError", err)
			}
			if got := re.Reason; got != tt.want {
				t.Errorf("reason = %q, want %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), m.Name+"@"+m.Version) {
				t.Errorf("message %q lacks %q or the model", err, tt.wantMsg)
			}
		})
	}
}

// TestFailsClosed: nothing is allowed before the ledger was read, and a
// failed refresh keeps the last view rather than dropping or widening it.
func TestFailsClosed(t *testing.T) {
	ctx := context.Background()
	l := &fakeLedger{records: []wire.ModelRecord{record(nsl, wire.ModelApproved, 2)}}
	l.fail(errors.New("peer unavailable"))
	c, _ := provenance.New(l, provenance.WithLogger(slog.New(slog.DiscardHandler)))
	var re *provenance.RefusedError
	if err := c.Check(nsl); !errors.As(err, &re) || re.Reason != provenance.NotRead {
		t.Fatalf("Check before any read = %v, want NotRead", err)
	}
	if _, err := c.Refresh(ctx); err == nil || c.Loaded() {
		t.Fatalf("Refresh on a failing ledger = %v (loaded %t)", err, c.Loaded())
	}
	if err := c.Check(nsl); !errors.As(err, &re) || re.Reason != provenance.NotRead {
		t.Fatalf("Check after a failed first read = %v, want NotRead", err)
	}
	l.fail(nil)
	if changed, err := c.Refresh(ctx); err != nil || !changed {
		t.Fatalf("first successful Refresh = %t, %v; want changed", changed, err)
	}
	if err := c.Check(nsl); err != nil {
		t.Fatal(err)
	}
	l.fail(errors.New("peer unavailable"))
	if _, err := c.Refresh(ctx); err == nil {
		t.Fatal("Refresh on a failing ledger succeeded")
	}
	if err := c.Check(nsl); err != nil {
		t.Fatalf("a ledger outage unloaded an approved model: %v", err)
	}
}

// TestRefreshPaginatesAndReportsChanges reads every page and says changed
// only when something Check depends on changed.
func TestRefreshPaginatesAndReportsChanges(t *testing.T) {
	ctx := context.Background()
	var recs []wire.ModelRecord
	for i := range 25 {
		m := nsl
		m.Version = "1.0." + strconv.Itoa(i)
		recs = append(recs, record(m, wire.ModelApproved, 2))
	}
	l := &fakeLedger{records: recs}
	c, err := provenance.New(l, provenance.WithPageSize(10), provenance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		edit        func()
		wantChanged bool
	}{
		{"first read", func() {}, true},
		{"nothing new", func() {}, false},
		{"one revoked", func() {
			recs[24] = record(provenance.Model{Name: nsl.Name, Version: "1.0.24", SHA256: nsl.SHA256, FeaturesSHA256: nsl.FeaturesSHA256}, wire.ModelRevoked, 2)
		}, true},
		{"nothing new again", func() {}, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.edit()
			l.set(recs...)
			before := l.calls
			changed, err := c.Refresh(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if changed != s.wantChanged {
				t.Errorf("changed = %t, want %t", changed, s.wantChanged)
			}
			if n := l.calls - before; n != 3 {
				t.Errorf("%d ListModels calls for 25 records in pages of 10, want 3", n)
			}
		})
	}
	last := nsl
	last.Version = "1.0.24"
	var re *provenance.RefusedError
	if err := c.Check(last); !errors.As(err, &re) || re.Reason != provenance.Revoked {
		t.Fatalf("record on the last page = %v, want revoked", err)
	}
}

// TestDecisionsLoggedOnChange: a refusal is logged once, not at every
// reload, and logged again when the decision changes.
func TestDecisionsLoggedOnChange(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	l := &fakeLedger{}
	c, _ := provenance.New(l, provenance.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	c.Refresh(ctx)
	for range 3 {
		c.Check(nsl)
	}
	if n := strings.Count(buf.String(), "model not served"); n != 1 {
		t.Fatalf("refusal logged %d times, want once:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "model=nsl-kdd-flow version=1.0.0") {
		t.Errorf("log line does not name the model:\n%s", buf.String())
	}
	l.set(record(nsl, wire.ModelApproved, 2))
	c.Refresh(ctx)
	c.Check(nsl)
	c.Check(nsl)
	if n := strings.Count(buf.String(), "model approved on the ledger"); n != 1 {
		t.Fatalf("approval logged %d times, want once:\n%s", n, buf.String())
	}
}

// TestRun refreshes on the interval and calls onChange only on changes.
func TestRun(t *testing.T) {
	l := &fakeLedger{}
	c, _ := provenance.New(l, provenance.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 10)
	done := make(chan struct{})
	go func() {
		c.Run(ctx, 5*time.Millisecond, func(context.Context) { changes <- struct{}{} })
		close(done)
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(5 * time.Second):
			t.Fatalf("no onChange after %s", what)
		}
	}
	wait("the first read")
	l.set(record(nsl, wire.ModelApproved, 2))
	wait("an approval")
	if err := c.Check(nsl); err != nil {
		t.Fatalf("after the approval: %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	if n := len(changes); n != 0 {
		t.Errorf("%d onChange calls without a change", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestOptions(t *testing.T) {
	if _, err := provenance.New(nil); err == nil {
		t.Error("New(nil) accepted")
	}
	for _, n := range []int32{0, wire.MaxPageSize + 1} {
		if _, err := provenance.New(&fakeLedger{}, provenance.WithPageSize(n)); err == nil {
			t.Errorf("WithPageSize(%d) accepted", n)
		}
	}
	if _, err := provenance.New(&fakeLedger{}, provenance.WithLogger(nil)); err == nil {
		t.Error("WithLogger(nil) accepted")
	}
}

func TestFeaturesSHA256Stable(t *testing.T) {
	spec := features.Spec{Features: []features.Feature{{Name: "a", Kind: "numeric", Field: "x"}}}
	a, err := provenance.FeaturesSHA256(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := provenance.FeaturesSHA256(spec)
	spec.Features[0].Field = "y"
	c, _ := provenance.FeaturesSHA256(spec)
	if a != b || a == c || len(a) != 64 {
		t.Errorf("hashes %s %s %s: want equal for equal specs, different otherwise", a, b, c)
	}
}
