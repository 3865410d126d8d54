package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

const (
	testMSP = "Org1MSP"
	testGW  = "gw-evidence"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fixture is a real store with three anchored batches (seqs 0..4, 5..9,
// 10..12) on a fake two-org ledger, and a bundle exported from them.
type fixture struct {
	store  *store.Store
	ledger *evidencetest.Ledger
	bundle []byte
	batch  []gateway.Batch
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// fixDir holds the fixture's store for the whole test binary (a test's
// TempDir would vanish under the open store when that test ends).
var fixDir string

func TestMain(m *testing.M) {
	var err error
	if fixDir, err = os.MkdirTemp("", "evidence-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if fix != nil {
		_ = fix.store.Close()
	}
	_ = os.RemoveAll(fixDir)
	os.Exit(code)
}

// testFixture builds the fixture once per test binary: building a store and
// signing envelopes is the slow part, and every case works on a copy.
func testFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture(fixDir) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func newFixture(dir string) (*fixture, error) {
	ctx := context.Background()
	s, err := store.Open(ctx, dir, store.WithGateway(testMSP, testGW), store.WithBatchMaxEvents(5), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		return nil, err
	}
	events := make([]gateway.Event, 13)
	for i := range events {
		events[i] = gateway.Event{
			Received: t0.Add(time.Duration(i) * time.Minute), Time: t0.Add(time.Duration(i) * time.Minute),
			Source: "syslog", Sourcetype: "linux:auth", Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth,
			Fields: map[string]any{"n": i}, Raw: []byte(fmt.Sprintf("Failed password for root from 10.0.0.%d", i)),
		}
	}
	if _, err := s.Append(ctx, events); err != nil {
		return nil, err
	}
	if _, _, err := s.Seal(ctx); err != nil {
		return nil, err
	}
	l, err := evidencetest.NewLedger("lgchannel", "ledgerguard", testMSP, "Org2MSP")
	if err != nil {
		return nil, err
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		return nil, err
	}
	if len(pending) != 3 {
		return nil, fmt.Errorf("fixture: %d batches sealed, want 3", len(pending))
	}
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			return nil, err
		}
		if err := s.MarkAnchored(ctx, b.ID, tx, uint64(10+i)); err != nil {
			return nil, err
		}
	}
	f := &fixture{store: s, ledger: l, batch: pending}
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, s, l, request(t0, t0.Add(time.Hour))); err != nil {
		return nil, err
	}
	f.bundle = buf.Bytes()
	return f, nil
}

func request(from, to time.Time) evidence.Request {
	return evidence.Request{GatewayMSP: testMSP, GatewayID: testGW, Channel: "lgchannel", Chaincode: "ledgerguard", From: from, To: to}
}

// finding is the part of a Finding the tests pin: kind, event id, seq.
type finding struct {
	Kind  evidence.Kind
	Event string
	Seq   int64 // -1: no seq
}

func summarize(fs []evidence.Finding) []finding {
	out := make([]finding, 0, len(fs))
	for _, f := range fs {
		seq := int64(-1)
		if f.HasSeq {
			seq = int64(f.Seq)
		}
		out = append(out, finding{f.Kind, f.EventID, seq})
	}
	slices.SortFunc(out, func(a, b finding) int { return cmpFinding(a, b) })
	return out
}

func cmpFinding(a, b finding) int {
	switch {
	case a.Kind != b.Kind:
		return map[bool]int{true: -1, false: 1}[a.Kind < b.Kind]
	case a.Seq != b.Seq:
		return map[bool]int{true: -1, false: 1}[a.Seq < b.Seq]
	case a.Event != b.Event:
		return map[bool]int{true: -1, false: 1}[a.Event < b.Event]
	}
	return 0
}

func verify(t *testing.T, b *evidence.Bundle, opts ...evidence.VerifyOption) *evidence.Report {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Write(&buf, false); err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.Verify(context.Background(), &buf, opts...)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func read(t *testing.T, f *fixture) *evidence.Bundle {
	t.Helper()
	b, err := evidence.ReadBundle(bytes.NewReader(f.bundle))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportVerifyClean(t *testing.T) {
	f := testFixture(t)
	b := read(t, f)
	if got, want := len(b.Batches), 3; got != want {
		t.Fatalf("batches: got %d, want %d", got, want)
	}
	var progressed []evidence.Progress
	rep, err := evidence.Verify(context.Background(), bytes.NewReader(f.bundle), evidence.WithProgress(func(p evidence.Progress) { progressed = append(progressed, p) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range rep.Findings {
		t.Errorf("unexpected finding: %s", fd)
	}
	got := [4]int{rep.Events, rep.Batches, rep.Transactions, rep.Endorsements}
	if want := [4]int{13, 3, 3, 6}; got != want {
		t.Errorf("events, batches, transactions, endorsements: got %v, want %v", got, want)
	}
	if len(progressed) == 0 || progressed[len(progressed)-1] != (evidence.Progress{Events: 13, TotalEvents: 13, Batches: 3, TotalBatches: 3}) {
		t.Errorf("last progress: got %v", progressed)
	}
	if len(rep.Orgs) != 2 || len(rep.Orgs[0].Fingerprints) != 1 {
		t.Errorf("org summaries: got %+v", rep.Orgs)
	}
}

func TestExportGzipRoundTrip(t *testing.T) {
	f := testFixture(t)
	var buf bytes.Buffer
	req := request(t0.Add(6*time.Minute), t0.Add(7*time.Minute)) // inside batch 1 only
	req.Gzip = true
	sum, err := evidence.Export(context.Background(), &buf, f.store, f.ledger, req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum, (evidence.Summary{Batches: 1, Events: 5}); got != want {
		t.Fatalf("summary: got %+v, want %+v", got, want)
	}
	rep, err := evidence.Verify(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != 5 {
		t.Fatalf("got %d events, findings %v", rep.Events, rep.Findings)
	}
}

func TestExportErrors(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	var nothing bytes.Buffer
	if _, err := evidence.Export(ctx, &nothing, f.store, f.ledger, request(t0.Add(-2*time.Hour), t0.Add(-time.Hour))); !errors.Is(err, evidence.ErrNothingToExport) {
		t.Errorf("empty range: got %v, want ErrNothingToExport", err)
	}
	var re *evidence.RequestError
	bad := request(t0.Add(time.Hour), t0)
	if _, err := evidence.Export(ctx, &nothing, f.store, f.ledger, bad); !errors.As(err, &re) {
		t.Errorf("reversed range: got %v, want *RequestError", err)
	}
	unknown, _ := evidencetest.NewLedger("lgchannel", "ledgerguard", testMSP, "Org2MSP")
	var na *evidence.NotAnchoredError
	if _, err := evidence.Export(ctx, &nothing, f.store, unknown, request(t0, t0.Add(time.Hour))); !errors.As(err, &na) || na.BatchID != f.batch[0].ID {
		t.Errorf("ledger without the transactions: got %v, want *NotAnchoredError for batch %s", err, f.batch[0].ID)
	}
}

func TestExportEventIDs(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	e7, err := f.store.EventBySeq(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	req := request(time.Time{}, time.Time{})
	req.EventIDs = []string{e7.ID}
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, f.store, f.ledger, req); err != nil {
		t.Fatal(err)
	}
	b, err := evidence.ReadBundle(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Batches) != 1 || b.Batches[0].Batch.ID != f.batch[1].ID || len(b.Batches[0].Events) != 5 {
		t.Fatalf("got %d batches, want exactly batch 1 whole", len(b.Batches))
	}
	if rep := verify(t, b); !rep.OK() {
		t.Fatalf("clean: %v", rep.Findings)
	}
	evidencetest.RemoveEvent(b, 0, 2)
	got := summarize(verify(t, b).Findings)
	want := []finding{{evidence.KindRemoved, "", 7}, {evidence.KindRemoved, e7.ID, -1}}
	slices.SortFunc(want, cmpFinding)
	if !slices.Equal(got, want) {
		t.Errorf("removed requested event:\n got %v\nwant %v", got, want)
	}
}

// TestTamper is the tamper matrix: each case edits a copy of the bundle the
// way someone without the keys could, and verify must name exactly the
// events (or batch) affected.
func TestTamper(t *testing.T) {
	f := testFixture(t)
	clean := read(t, f)
	id := func(bi, ei int) string { return clean.Batches[bi].Events[ei].ID }
	tests := []struct {
		name   string
		tamper func(*evidence.Bundle) ([]finding, error)
	}{
		{"modify event bytes", func(b *evidence.Bundle) ([]finding, error) {
			return []finding{{evidence.KindModified, id(1, 2), 7}}, evidencetest.ModifyEvent(b, 1, 2)
		}},
		{"remove event", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.RemoveEvent(b, 1, 2)
			return []finding{{evidence.KindRemoved, "", 7}}, nil
		}},
		{"remove first event of first batch", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.RemoveEvent(b, 0, 0)
			return []finding{{evidence.KindRemoved, "", 0}}, nil
		}},
		{"insert event", func(b *evidence.Bundle) ([]finding, error) {
			fake, err := evidencetest.InsertEvent(b, 1, 2)
			return []finding{{evidence.KindInserted, fake, 7}}, err
		}},
		{"insert event beyond the batch", func(b *evidence.Bundle) ([]finding, error) {
			s := &b.Batches[2]
			extra := s.Events[2]
			extra.Seq, extra.ID = 13, "f00d"+extra.ID[4:]
			s.Events = append(s.Events, extra)
			return []finding{{evidence.KindInserted, extra.ID, 13}}, nil
		}},
		{"duplicate event", func(b *evidence.Bundle) ([]finding, error) {
			s := &b.Batches[0]
			s.Events = append(s.Events, s.Events[1])
			return []finding{{evidence.KindInserted, id(0, 1), 1}}, nil
		}},
		{"reorder two event lines", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.SwapEventLines(b, 0, 1, 3)
			return []finding{{evidence.KindReordered, id(0, 1), 1}, {evidence.KindReordered, id(0, 3), 3}}, nil
		}},
		{"reorder two adjacent event lines", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.SwapEventLines(b, 1, 0, 1)
			return []finding{{evidence.KindReordered, id(1, 0), 5}, {evidence.KindReordered, id(1, 1), 6}}, nil
		}},
		{"move one event far", func(b *evidence.Bundle) ([]finding, error) {
			s := &b.Batches[0]
			moved := s.Events[0]
			s.Events = append(s.Events[1:], moved)
			return []finding{{evidence.KindReordered, id(0, 0), 0}}, nil
		}},
		{"reorder two events' bytes under fixed seqs", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.SwapEventBytes(b, 2, 0, 2)
			return []finding{{evidence.KindReordered, id(2, 2), 10}, {evidence.KindReordered, id(2, 0), 12}}, nil
		}},
		{"alter a root", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.AlterRoot(b, 1)
			return []finding{{evidence.KindRoot, "", -1}}, nil
		}},
		{"alter an endorsement signature", func(b *evidence.Bundle) ([]finding, error) {
			return []finding{
				{evidence.KindEndorsement, "", -1}, // Org2's endorsement fails
				{evidence.KindEndorsement, "", -1}, // so the policy is not satisfied
				{evidence.KindTransaction, "", -1}, // and the creator's signature no longer covers the payload
			}, evidencetest.AlterEndorsementSignature(b, 1, 1)
		}},
		{"strip an endorsement", func(b *evidence.Bundle) ([]finding, error) {
			return []finding{{evidence.KindEndorsement, "", -1}, {evidence.KindTransaction, "", -1}},
				evidencetest.StripEndorsement(b, 1, 1)
		}},
		{"swap in another batch's transaction", func(b *evidence.Bundle) ([]finding, error) {
			evidencetest.SwapTransaction(b, 1, 2)
			return []finding{{evidence.KindTransaction, "", -1}}, nil
		}},
		{"drop the consistency proof", func(b *evidence.Bundle) ([]finding, error) {
			b.Batches[2].Consistency = nil
			return []finding{{evidence.KindConsistency, "", -1}}, nil
		}},
		{"alter the prefix", func(b *evidence.Bundle) ([]finding, error) {
			p := []byte(b.Batches[1].Prefix[0])
			p[0] ^= 1
			b.Batches[1].Prefix[0] = string(p)
			return []finding{{evidence.KindConsistency, "", -1}, {evidence.KindRoot, "", -1}}, nil
		}},
		{"drop an organisation's CA", func(b *evidence.Bundle) ([]finding, error) {
			b.Header.Orgs = b.Header.Orgs[:1]
			// Org2's endorsements now come from an unknown MSP (one per batch).
			return []finding{{evidence.KindEndorsement, "", -1}, {evidence.KindEndorsement, "", -1}, {evidence.KindEndorsement, "", -1}}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := evidencetest.Clone(clean)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tt.tamper(b)
			if err != nil {
				t.Fatal(err)
			}
			rep := verify(t, b)
			got := summarize(rep.Findings)
			slices.SortFunc(want, cmpFinding)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got %v\nwant %v", got, want)
				for _, f := range rep.Findings {
					t.Log(f)
				}
			}
		})
	}
}

func TestVerifyOnline(t *testing.T) {
	f := testFixture(t)
	rep, err := evidence.Verify(context.Background(), bytes.NewReader(f.bundle), evidence.WithOnline(f.ledger))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("online clean: %v", rep.Findings)
	}
	// A ledger that now records another root for batch 1 (a fork, or the
	// bundle's transaction is not what the channel committed).
	other, err := evidencetest.NewLedger("lgchannel", "ledgerguard", testMSP, "Org2MSP")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range f.batch {
		rec, _ := f.ledger.AnchoredBatch(context.Background(), b.ID)
		if i == 1 {
			rec.RootHash = f.batch[0].RootHash
		}
		other.SetBatch(rec)
	}
	rep, err = evidence.Verify(context.Background(), bytes.NewReader(f.bundle), evidence.WithOnline(other))
	if err != nil {
		t.Fatal(err)
	}
	got := summarize(rep.Findings)
	// Both orgs' CAs differ from the other ledger's, and batch 1's root.
	want := []finding{{evidence.KindLedger, "", -1}, {evidence.KindLedger, "", -1}, {evidence.KindLedger, "", -1}}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
}

func TestVerifyMalformedLine(t *testing.T) {
	f := testFixture(t)
	lines := bytes.Split(f.bundle, []byte("\n"))
	lines[3] = []byte(`{"event": not json`) // line 4: batch 0's second event, seq 1
	rep, err := evidence.Verify(context.Background(), bytes.NewReader(bytes.Join(lines, []byte("\n"))))
	if err != nil {
		t.Fatal(err)
	}
	got := summarize(rep.Findings)
	want := []finding{{evidence.KindMalformed, "", -1}, {evidence.KindRemoved, "", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %v\nwant %v", got, want)
	}
	if rep.Findings[0].Line != 4 {
		t.Errorf("malformed line: got %d, want 4", rep.Findings[0].Line)
	}
}
