package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// fakeLedger answers GetIndicator as the chaincode does for msp: AMBER
// records only to their recipients, values only once stored.
type fakeLedger struct {
	mu     sync.Mutex
	msp    string
	recs   map[string]wire.Indicator
	values map[string]string // id → value readable by msp
	down   int               // fail this many reads as unavailable
	reads  int
}

func (f *fakeLedger) Indicator(_ context.Context, id string) (wire.Indicator, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.down > 0 {
		f.down--
		return wire.Indicator{}, &gateway.LedgerUnavailableError{Op: "GetIndicator", Stage: gateway.StageEvaluate, Err: errors.New("peer down")}
	}
	r, ok := f.recs[id]
	if ok && Restricted(r.TLP) && !slices.Contains(r.Recipients, f.msp) {
		ok = false
	}
	if !ok {
		return wire.Indicator{}, &gateway.LedgerRejectedError{Op: "GetIndicator", Stage: gateway.StageEvaluate, Code: wire.CodeNotFound, Reason: "no indicator " + id}
	}
	r.Value = f.values[id]
	if r.Value != "" {
		r.Stix = fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-12-05T01:00:00.000Z","modified":"2026-12-05T01:00:00.000Z","pattern":"[x:value = '%s']"}`, r.StixID, r.Value)
	}
	return r, nil
}

// share records an indicator on the fake ledger and returns its ref.
func (f *fakeLedger) share(t *testing.T, sharer, typ, value, tlp string, recipients []string, withValue bool) wire.IndicatorRef {
	t.Helper()
	e := entry(t, sharer, typ, value)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[e.ID] = wire.Indicator{ID: e.ID, Hash: e.Hash, Type: typ, TLP: tlp, Recipients: recipients, Confidence: 90,
		SharedBy: sharer, StixID: "indicator--" + e.ID[:8] + "-0000-4000-8000-000000000000",
		SharedAt: wire.NewTime(time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)), Status: wire.IndicatorActive}
	if withValue {
		f.values[e.ID] = e.Value
	}
	return wire.IndicatorRef{ID: e.ID, Hash: e.Hash, Type: typ, TLP: tlp, Recipients: recipients, SharedBy: sharer}
}

func intelEvent(t *testing.T, block uint64, tx, kind string, refs ...wire.IndicatorRef) gateway.ChaincodeEvent {
	t.Helper()
	b, err := json.Marshal(wire.IntelEvent{Kind: kind, Indicators: refs})
	if err != nil {
		t.Fatal(err)
	}
	return gateway.ChaincodeEvent{Name: wire.EventIntelChanged, BlockNumber: block, TxID: tx, Payload: b}
}

// chanSource is an event source the test feeds; its checkpoint is the
// sync's.
type chanSource struct {
	s  *Sync
	ch chan gateway.ChaincodeEvent
}

func (c *chanSource) Events(context.Context) (<-chan gateway.ChaincodeEvent, error) { return c.ch, nil }
func (c *chanSource) Checkpoint(_ context.Context, ev gateway.ChaincodeEvent) error {
	return c.s.CheckpointTransaction(ev.BlockNumber, ev.TxID)
}

func openTestSync(t *testing.T, path string, led Reader) (*Sync, *Matcher, *Catalog) {
	t.Helper()
	m, cat := NewMatcher(), NewCatalog()
	s, err := OpenSync(SyncConfig{MSP: "Org2MSP", Path: path, RetryPending: 20 * time.Millisecond}, led, m, cat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, m, cat
}

func matches(m *Matcher, kind, value string) int {
	n := 0
	m.Scan(time.Now(), func(v *View) { n = v.Lookup(Observable{Kind: kind, Value: value}, nil) })
	return n
}

func catalogIDs(t *testing.T, cat *Catalog, g Group) []string {
	t.Helper()
	var out []string
	if err := cat.Scan(context.Background(), g, Position{}, time.Time{}, func(o Object) bool {
		out = append(out, fmt.Sprintf("%d/%d/%d %s", o.Pos.Block, o.Pos.Tx, o.Pos.Index, o.Version))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyncFollowsTheLedger(t *testing.T) {
	ctx := context.Background()
	led := &fakeLedger{msp: "Org2MSP", recs: map[string]wire.Indicator{}, values: map[string]string{}}
	path := filepath.Join(t.TempDir(), "intel.journal")
	s, m, cat := openTestSync(t, path, led)

	green := led.share(t, "Org1MSP", wire.IndicatorDomain, "evil.example", wire.TLPGreen, nil, true)
	clear := led.share(t, "Org1MSP", wire.IndicatorIPv4, "198.51.100.1", wire.TLPClear, nil, true)
	amberOther := led.share(t, "Org1MSP", wire.IndicatorIPv4, "198.51.100.2", wire.TLPAmber, []string{"Org1MSP"}, false)
	amberMine := led.share(t, "Org1MSP", wire.IndicatorIPv4, "198.51.100.3", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}, false)

	// Block 5 holds two intel transactions: their positions are 5/0/* and 5/1/*.
	for _, ev := range []gateway.ChaincodeEvent{
		intelEvent(t, 5, "tx-a", wire.IntelShared, green, clear),
		intelEvent(t, 5, "tx-b", wire.IntelShared, amberOther, amberMine),
	} {
		if err := s.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if matches(m, wire.IndicatorDomain, "www.evil.example") != 1 || matches(m, ObservableIP, "198.51.100.1") != 1 {
		t.Error("GREEN/CLEAR indicators do not match after their share")
	}
	if matches(m, ObservableIP, "198.51.100.2") != 0 {
		t.Error("AMBER indicator for Org1 only matches in Org2's matcher")
	}
	if matches(m, ObservableIP, "198.51.100.3") != 0 {
		t.Error("AMBER indicator matches before its values are stored")
	}
	if got, want := catalogIDs(t, cat, GroupShared), []string{"5/0/0 2026-12-05T01:00:00.000Z", "5/0/1 2026-12-05T01:00:00.000Z"}; !slices.Equal(got, want) {
		t.Errorf("shared catalog = %v, want %v", got, want)
	}

	// The values transaction for the AMBER recipients (block 6).
	led.mu.Lock()
	led.values[amberMine.ID] = "198.51.100.3"
	led.values[amberOther.ID] = "198.51.100.2" // stored for Org1 only; Org2 still cannot read the record
	led.mu.Unlock()
	if err := s.Handle(ctx, intelEvent(t, 6, "tx-c", wire.IntelValues, amberOther, amberMine)); err != nil {
		t.Fatal(err)
	}
	if matches(m, ObservableIP, "198.51.100.3") != 1 || matches(m, ObservableIP, "198.51.100.2") != 0 {
		t.Error("after the values transaction: want the AMBER indicator naming Org2 matched, the other not")
	}
	if got := catalogIDs(t, cat, GroupAmber); !slices.Equal(got, []string{"6/0/1 2026-12-05T01:00:00.000Z"}) {
		t.Errorf("amber catalog = %v", got)
	}

	// Revocation (block 7) stops matching and adds a revoked version.
	led.mu.Lock()
	r := led.recs[green.ID]
	r.Status, r.RevokedAt = wire.IndicatorRevoked, wire.NewTime(time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC))
	led.recs[green.ID] = r
	led.mu.Unlock()
	if err := s.Handle(ctx, intelEvent(t, 7, "tx-d", wire.IntelRevoked, green)); err != nil {
		t.Fatal(err)
	}
	if matches(m, wire.IndicatorDomain, "evil.example") != 0 {
		t.Error("revoked indicator still matches")
	}
	vs, _ := cat.Versions(ctx, GroupShared, led.recs[green.ID].StixID)
	if len(vs) != 2 || vs[1].Version != "2026-12-05T02:00:00.000Z" || vs[1].Pos != (Position{7, 0, 0}) {
		t.Fatalf("revoked object versions = %+v", vs)
	}
	var body map[string]any
	_ = json.Unmarshal(vs[1].Body, &body)
	if body["revoked"] != true {
		t.Errorf("revoked version body = %s", vs[1].Body)
	}

	// Purge (block 8) removes the object from the catalog.
	if err := s.Handle(ctx, intelEvent(t, 8, "tx-e", wire.IntelPurged, clear)); err != nil {
		t.Fatal(err)
	}
	if matches(m, ObservableIP, "198.51.100.1") != 0 {
		t.Error("purged indicator still matches")
	}
	if got := catalogIDs(t, cat, GroupShared); len(got) != 2 { // green's two versions
		t.Errorf("after purge, shared catalog = %v", got)
	}

	// A restart rebuilds everything from the journal and resumes after
	// the last handled event.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reads := led.reads
	s2, m2, cat2 := openTestSync(t, path, led)
	if s2.BlockNumber() != 8 || s2.TransactionID() != "tx-e" {
		t.Errorf("checkpoint after reopen = %d/%s, want 8/tx-e", s2.BlockNumber(), s2.TransactionID())
	}
	if matches(m2, ObservableIP, "198.51.100.3") != 1 || matches(m2, ObservableIP, "198.51.100.1") != 0 || m2.Len() != 1 {
		t.Errorf("matcher after reopen: %d entries", m2.Len())
	}
	if got, want := catalogIDs(t, cat2, GroupShared), catalogIDs(t, cat, GroupShared); !slices.Equal(got, want) {
		t.Errorf("catalog after reopen = %v, want %v", got, want)
	}
	if led.reads != reads {
		t.Errorf("reopening read the ledger %d times; want none", led.reads-reads)
	}
	// An event delivered again (crash before its checkpoint) changes nothing.
	if err := s2.Handle(ctx, intelEvent(t, 6, "tx-c", wire.IntelValues, amberOther, amberMine)); err != nil {
		t.Fatal(err)
	}
	if got := catalogIDs(t, cat2, GroupAmber); len(got) != 1 {
		t.Errorf("a repeated values event changed the amber catalog: %v", got)
	}
	if err := s2.compact(); err != nil {
		t.Fatal(err)
	}
	_ = s2.Close()
	_, m3, cat3 := openTestSync(t, path, led)
	if m3.Len() != 1 || !slices.Equal(catalogIDs(t, cat3, GroupShared), catalogIDs(t, cat, GroupShared)) {
		t.Errorf("after compaction and reopen: %d entries, catalog %v", m3.Len(), catalogIDs(t, cat3, GroupShared))
	}
}

func TestSyncRunRetriesAndPending(t *testing.T) {
	led := &fakeLedger{msp: "Org2MSP", recs: map[string]wire.Indicator{}, values: map[string]string{}}
	s, m, _ := openTestSync(t, filepath.Join(t.TempDir(), "j"), led)
	late := led.share(t, "Org1MSP", wire.IndicatorSHA256, fmt.Sprintf("%064x", 7), wire.TLPGreen, nil, false)
	down := led.share(t, "Org1MSP", wire.IndicatorDomain, "down.example", wire.TLPGreen, nil, true)
	led.down = 2
	src := &chanSource{s: s, ch: make(chan gateway.ChaincodeEvent, 4)}
	src.ch <- gateway.ChaincodeEvent{Name: wire.EventResponsesRequested, BlockNumber: 3, TxID: "other"}
	src.ch <- intelEvent(t, 4, "tx-1", wire.IntelShared, down)
	src.ch <- intelEvent(t, 4, "tx-2", wire.IntelShared, late)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, src) }()
	waitFor(t, func() bool { return matches(m, wire.IndicatorDomain, "down.example") == 1 })
	waitFor(t, func() bool { return s.Status().Pending == 1 })
	// The private value arrives late: the pending retry picks it up.
	led.mu.Lock()
	led.values[late.ID] = fmt.Sprintf("%064x", 7)
	led.mu.Unlock()
	waitFor(t, func() bool { return matches(m, wire.IndicatorSHA256, fmt.Sprintf("%064x", 7)) == 1 })
	if st := s.Status(); st.Pending != 0 || st.Handled != 2 {
		t.Errorf("status = %+v", st)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	if s.BlockNumber() != 4 || s.TransactionID() != "tx-2" {
		t.Errorf("checkpoint %d/%s, want 4/tx-2", s.BlockNumber(), s.TransactionID())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FuzzJournalRecord feeds arbitrary journal records to a fresh sync's
// replay: a damaged or foreign record is refused with an error or
// applied, never a panic, and what it applied keeps matcher and catalog
// consistent enough to compact and replay again.
func FuzzJournalRecord(f *testing.F) {
	f.Add([]byte(`{"op":"put","entry":{"id":"a","hash":"h","type":"ipv4","value":"192.0.2.1"}}`))
	f.Add([]byte(`{"op":"drop","id":"a"}`))
	f.Add([]byte(`{"op":"pend","pend":{"id":"a","pos":{"Block":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, cat := NewMatcher(), NewCatalog()
		s := &Sync{m: m, cat: cat, pending: map[string]pendRec{}, objects: map[string]objRef{}}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		_ = s.apply(r)
		_ = s.apply(r) // replays are idempotent or refused, never a panic
		if m.Len() > 1 {
			t.Fatalf("one record put %d entries", m.Len())
		}
	})
}

// batchLedger is fakeLedger with intel:GetIndicators (BatchReader).
type batchLedger struct {
	*fakeLedger
	fail    bool // every batch call fails, as on a chaincode without it
	batches int
}

func (b *batchLedger) IndicatorsByID(ctx context.Context, ids []string) ([]wire.Indicator, error) {
	b.mu.Lock()
	b.batches++
	fail := b.fail
	b.mu.Unlock()
	if fail {
		return nil, &gateway.LedgerRejectedError{Op: "GetIndicators", Stage: gateway.StageEvaluate, Code: wire.CodeInvalid, Reason: "no such function"}
	}
	var out []wire.Indicator
	for _, id := range ids {
		ind, err := b.Indicator(ctx, id)
		if err != nil {
			continue
		}
		out = append(out, ind)
	}
	return out, nil
}

func TestSyncReadsInBatches(t *testing.T) {
	for _, tt := range []struct {
		name        string
		fail        bool
		wantBatches int
	}{
		{"GetIndicators", false, 3},
		{"one by one when GetIndicators fails", true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			led := &batchLedger{fakeLedger: &fakeLedger{msp: "Org2MSP", recs: map[string]wire.Indicator{}, values: map[string]string{}}, fail: tt.fail}
			s, m, _ := openTestSync(t, filepath.Join(t.TempDir(), "intel.journal"), led)
			var refs []wire.IndicatorRef
			for i := range 1001 {
				refs = append(refs, led.share(t, "Org1MSP", wire.IndicatorDomain, fmt.Sprintf("d%d.batch.example", i), wire.TLPGreen, nil, true))
			}
			refs = append(refs, led.share(t, "Org1MSP", wire.IndicatorDomain, "org1-only.example", wire.TLPAmber, []string{"Org1MSP"}, true))
			if err := s.Handle(context.Background(), intelEvent(t, 5, "tx-a", wire.IntelShared, refs...)); err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 499, 500, 1000} {
				if got := matches(m, wire.IndicatorDomain, fmt.Sprintf("d%d.batch.example", i)); got != 1 {
					t.Errorf("indicator %d: %d matches, want 1", i, got)
				}
			}
			if got := matches(m, wire.IndicatorDomain, "org1-only.example"); got != 0 {
				t.Errorf("the AMBER indicator for Org1 only: %d matches in Org2's matcher, want 0", got)
			}
			if led.batches != tt.wantBatches {
				t.Errorf("%d batch calls, want %d", led.batches, tt.wantBatches)
			}
		})
	}
}

// TestSyncCompactShareEvent: a share's event as the chaincode now emits
// it (the sharer once, each indicator by id, TLP and recipients) brings
// what this organisation may read into the matcher, as full references
// did: CLEAR and GREEN, and AMBER naming it, not AMBER for others.
func TestSyncCompactShareEvent(t *testing.T) {
	ctx := context.Background()
	led := &fakeLedger{msp: "Org2MSP", recs: map[string]wire.Indicator{}, values: map[string]string{}}
	s, m, _ := openTestSync(t, filepath.Join(t.TempDir(), "intel.journal"), led)
	green := led.share(t, "Org1MSP", wire.IndicatorDomain, "compact-green.example", wire.TLPGreen, nil, true)
	amberUs := led.share(t, "Org1MSP", wire.IndicatorDomain, "compact-amber-us.example", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}, true)
	amberOther := led.share(t, "Org1MSP", wire.IndicatorDomain, "compact-amber-other.example", wire.TLPAmberStrict, []string{"Org1MSP"}, true)
	var refs []wire.IndicatorRef
	for _, r := range []wire.IndicatorRef{green, amberUs, amberOther} {
		refs = append(refs, wire.IndicatorRef{ID: r.ID, TLP: r.TLP, Recipients: r.Recipients})
	}
	b, err := json.Marshal(wire.IntelEvent{Kind: wire.IntelShared, SharedBy: "Org1MSP", Indicators: refs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Handle(ctx, gateway.ChaincodeEvent{Name: wire.EventIntelChanged, BlockNumber: 7, TxID: "tx-compact", Payload: b}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	for value, want := range map[string]int{"compact-green.example": 1, "compact-amber-us.example": 1, "compact-amber-other.example": 0} {
		if got := matches(m, "domain", value); got != want {
			t.Errorf("matches(%s) = %d, want %d", value, got, want)
		}
	}
}
