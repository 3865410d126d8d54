package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/transparency-dev/merkle/rfc6962"
)

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string // Option named in the ConfigError
	}{
		{"no gateway", nil, "WithGateway"},
		{"empty msp", []Option{WithGateway("", "gw")}, "WithGateway"},
		{"zero batch events", []Option{WithGateway("m", "g"), WithBatchMaxEvents(0)}, "WithBatchMaxEvents"},
		{"tiny batch wait", []Option{WithGateway("m", "g"), WithBatchMaxWait(time.Microsecond)}, "WithBatchMaxWait"},
		{"zero group", []Option{WithGateway("m", "g"), WithMaxGroupEvents(0)}, "WithMaxGroupEvents"},
		{"zero hash workers", []Option{WithGateway("m", "g"), WithHashWorkers(0)}, "WithHashWorkers"},
		{"nil fs", []Option{WithGateway("m", "g"), WithFS(nil)}, "WithFS"},
		{"nil models", []Option{WithGateway("m", "g"), WithModels(nil)}, "WithModels"},
		{"nil clock", []Option{WithGateway("m", "g"), WithClock(nil)}, "WithClock"},
		{"small memtable", []Option{WithGateway("m", "g"), WithMemTableSize(1)}, "WithMemTableSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{WithFS(vfs.NewMem())}, tc.opts...)
			_, err := Open(context.Background(), "db", opts...)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Open err = %v, want *ConfigError", err)
			}
			if got := ce.Option; got != tc.want {
				t.Errorf("ConfigError.Option = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAppendAssignsConsecutiveSeqs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		requests []int // events per request, appended in order
	}{
		{"one event", []int{1}},
		{"one request", []int{100}},
		{"many small", []int{1, 2, 3, 4, 5}},
		{"uneven", []int{7, 1, 64, 3, 129}},
		{"above parallel hashing threshold", []int{2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil)
			defer s.Close()
			next := 0
			for _, n := range tc.requests {
				in := testEvents(next, n, 500)
				got := mustAppend(t, s.Store, in)
				if len(got) != n {
					t.Fatalf("Append returned %d events, want %d", len(got), n)
				}
				for i, e := range got {
					if want := uint64(next + i); e.Seq != want {
						t.Errorf("event %d: Seq = %d, want %d", i, e.Seq, want)
					}
					if want := gateway.ComputeID(in[i].Source, in[i].Sourcetype, in[i].Raw); e.ID != want {
						t.Errorf("event %d: ID = %s, want %s", i, e.ID, want)
					}
				}
				next += n
			}
			if got, want := s.Size(), uint64(next); got != want {
				t.Errorf("Size() = %d, want %d", got, want)
			}
			// The stored bytes are exactly Event.Canonical of the returned event.
			e, err := s.EventBySeq(context.Background(), uint64(next-1))
			if err != nil {
				t.Fatal(err)
			}
			ep, err := s.EventByID(context.Background(), e.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := testEvent(next-1, 500)
			want.ID, want.Seq = e.ID, e.Seq
			wc, _ := want.Canonical()
			if string(ep.Canonical) != string(wc) {
				t.Errorf("stored canonical =\n%s\nwant\n%s", ep.Canonical, wc)
			}
		})
	}
}

func TestAppendDuplicates(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	defer s.Close()
	first := mustAppend(t, s.Store, testEvents(0, 10, 300))

	for _, tc := range []struct {
		name     string
		events   []gateway.Event
		wantSeqs []uint64
		wantSize uint64 // after this request
	}{
		{"retry of stored events", testEvents(3, 2, 300), []uint64{3, 4}, 10},
		{"new, stored, new", []gateway.Event{testEvent(100, 300), testEvent(0, 300), testEvent(101, 300)}, []uint64{10, 0, 11}, 12},
		{"repeat within request", []gateway.Event{testEvent(200, 300), testEvent(200, 300), testEvent(201, 300), testEvent(200, 300)}, []uint64{12, 12, 13, 12}, 14},
		{"only duplicates", []gateway.Event{testEvent(200, 300)}, []uint64{12}, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustAppend(t, s.Store, tc.events)
			for i, e := range got {
				if e.Seq != tc.wantSeqs[i] {
					t.Errorf("event %d: Seq = %d, want %d", i, e.Seq, tc.wantSeqs[i])
				}
			}
			if got := s.Size(); got != tc.wantSize {
				t.Errorf("Size() = %d, want %d", got, tc.wantSize)
			}
		})
	}

	// A retry later with a different Received time returns the stored copy.
	retry := testEvent(5, 300)
	retry.Received = retry.Received.Add(time.Hour)
	got := mustAppend(t, s.Store, []gateway.Event{retry})
	if !got[0].Received.Equal(first[5].Received) || got[0].Seq != 5 {
		t.Errorf("retry returned Seq %d Received %v, want the stored copy (Seq 5, %v)", got[0].Seq, got[0].Received, first[5].Received)
	}

	// Concurrent requests carrying the same new events, committed in one or
	// several groups, store each once.
	var wg sync.WaitGroup
	results := make([][]gateway.Event, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Append(ctx, testEvents(1000, 50, 300))
			if err != nil {
				t.Error(err)
			}
			results[g] = r
		}()
	}
	wg.Wait()
	for g := range results {
		for i := range results[g] {
			if results[g][i].Seq != results[0][i].Seq {
				t.Fatalf("request %d event %d: Seq %d, request 0 got %d", g, i, results[g][i].Seq, results[0][i].Seq)
			}
		}
	}
	if got, want := s.Size(), uint64(14+50); got != want {
		t.Errorf("Size() after concurrent duplicates = %d, want %d", got, want)
	}
}

func TestAppendInvalid(t *testing.T) {
	s := openTest(t, nil)
	defer s.Close()
	for _, tc := range []struct {
		name    string
		mutate  func(*gateway.Event)
		wantErr error // cause, or nil to only check the type
	}{
		{"short id", func(e *gateway.Event) { e.ID = "abc" }, ErrBadID},
		{"uppercase id", func(e *gateway.Event) { e.ID = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789" }, ErrBadID},
		{"unencodable field", func(e *gateway.Event) { e.Fields = map[string]any{"x": math.NaN()} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := testEvents(0, 3, 300)
			tc.mutate(&events[1])
			_, err := s.Append(context.Background(), events)
			var ie *InvalidEventError
			if !errors.As(err, &ie) {
				t.Fatalf("Append err = %v, want *InvalidEventError", err)
			}
			if ie.Index != 1 {
				t.Errorf("Index = %d, want 1", ie.Index)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want cause %v", err, tc.wantErr)
			}
			if got := s.Size(); got != 0 {
				t.Errorf("Size() = %d after rejected request, want 0", got)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithBatchMaxEvents(5))
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 7, 200))
	missing := hex.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name string
		call func() error
		want any
	}{
		{"seq beyond size", func() error { _, err := s.EventBySeq(ctx, 7); return err }, new(*EventNotFoundError)},
		{"unknown id", func() error { _, err := s.EventByID(ctx, missing, 0); return err }, new(*EventNotFoundError)},
		{"malformed id", func() error { _, err := s.EventByID(ctx, "nope", 0); return err }, new(*EventNotFoundError)},
		{"root beyond size", func() error { _, err := s.Root(ctx, 8); return err }, new(*TreeSizeError)},
		{"inclusion index = size", func() error { _, err := s.InclusionProof(ctx, 3, 3); return err }, new(*TreeSizeError)},
		{"inclusion beyond size", func() error { _, err := s.InclusionProof(ctx, 1, 8); return err }, new(*TreeSizeError)},
		{"consistency reversed", func() error { _, err := s.ConsistencyProof(ctx, 5, 4); return err }, new(*TreeSizeError)},
		{"consistency beyond size", func() error { _, err := s.ConsistencyProof(ctx, 1, 9); return err }, new(*TreeSizeError)},
		{"unknown batch", func() error { _, err := s.Batch(ctx, missing); return err }, new(*BatchNotFoundError)},
		{"mark unknown batch", func() error { return s.MarkAnchored(ctx, missing, "tx", 1) }, new(*BatchNotFoundError)},
		{"mark empty tx", func() error { return s.MarkAnchored(ctx, missing, "", 1) }, new(*ArgumentError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !errors.As(err, tc.want) {
				t.Errorf("err = %v (%T), want %T", err, err, tc.want)
			}
		})
	}
}

// TestProofs checks roots, inclusion and consistency proofs at every tree
// size 1..300 (and a few larger ones) against the RFC's recursive
// definition and the library's verifiers.
func TestProofs(t *testing.T) {
	s := openTest(t, nil)
	defer s.Close()
	// Append one by one up to 300 so every size is a real checkpoint too,
	// then larger requests.
	for i := range 300 {
		mustAppend(t, s.Store, testEvents(i, 1, 120))
		cp, err := s.Checkpoint(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != uint64(i+1) {
			t.Fatalf("Checkpoint size %d, want %d", cp.Size, i+1)
		}
	}
	for _, n := range []int{700, 1, 1024, 1337} {
		mustAppend(t, s.Store, testEvents(int(s.Size()), n, 120))
	}
	leaves := refLeafHashes(t, s.Store)
	sizes := make([]uint64, 0, 310)
	for size := uint64(1); size <= 300; size++ {
		sizes = append(sizes, size)
	}
	sizes = append(sizes, 511, 512, 513, 1000, 1001, 2047, 2048, 3361, s.Size())
	verifyLog(t, s.Store, leaves, sizes)

	// The offline helpers accept what the store serves.
	ctx := context.Background()
	ep, err := s.EventByID(ctx, mustEventID(t, s.Store, 777), 3000)
	if err != nil {
		t.Fatal(err)
	}
	if err := merkle.VerifyEventInclusion(ep.Canonical, ep.Proof, ep.Root); err != nil {
		t.Errorf("VerifyEventInclusion: %v", err)
	}
	cp, _ := s.Checkpoint(ctx)
	r1, _ := s.Root(ctx, 3000)
	cproof, err := s.ConsistencyProof(ctx, 3000, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := merkle.VerifyConsistency(3000, cp.Size, cproof.Hashes, hex.EncodeToString(r1), cp.Root); err != nil {
		t.Errorf("VerifyConsistency: %v", err)
	}
}

func mustEventID(t testing.TB, s *Store, seq uint64) string {
	t.Helper()
	e, err := s.EventBySeq(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestArenaHashMatchesRFC6962(t *testing.T) {
	var a nodeArena
	for i := range 100 {
		l := sha256.Sum256([]byte{byte(i)})
		r := sha256.Sum256([]byte{byte(i), 1})
		got := a.hashChildren(l[:], r[:])
		if want := rfc6962.DefaultHasher.HashChildren(l[:], r[:]); string(got) != string(want) {
			t.Fatalf("hashChildren = %x, want %x", got, want)
		}
	}
}

func TestRestartResumes(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	// A 1 MiB memtable forces flushes to sstables, so the restart reads
	// nodes and events from both the WAL and sstables.
	opts := []Option{WithBatchMaxEvents(100), WithMemTableSize(1 << 20)}
	s := openTest(t, fs, opts...)
	for i := 0; i < 2500; i += 250 {
		mustAppend(t, s.Store, testEvents(i, 250, 500))
	}
	mustAppend(t, s.Store, testEvents(2500, 37, 500)) // leaves an open batch of 37
	cp1, _ := s.Checkpoint(ctx)
	pending1, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAnchored(ctx, pending1[0].ID, "tx0", 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, fs, opts...)
	defer s.Close()
	cp2, _ := s.Checkpoint(ctx)
	if cp2 != cp1 {
		t.Fatalf("checkpoint after restart = %+v, want %+v", cp2, cp1)
	}
	pending2, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pending2), len(pending1)-1; got != want {
		t.Fatalf("%d pending batches after restart, want %d", got, want)
	}
	if pending2[0].ID != pending1[1].ID {
		t.Errorf("first pending after restart = %s, want %s", pending2[0].ID, pending1[1].ID)
	}
	// Appending continues at the right seq, and the open batch continues:
	// the next seal covers the 37 old events plus 63 new ones.
	got := mustAppend(t, s.Store, testEvents(5000, 63, 500))
	if got[0].Seq != cp1.Size {
		t.Errorf("first seq after restart = %d, want %d", got[0].Seq, cp1.Size)
	}
	pending3, _ := s.PendingBatches(ctx)
	last := pending3[len(pending3)-1]
	if last.TreeSizeBefore != 2500 || last.TreeSizeAfter != 2600 {
		t.Errorf("batch after restart covers [%d,%d), want [2500,2600)", last.TreeSizeBefore, last.TreeSizeAfter)
	}
	if got := last.ClassCounts["flow"] + last.ClassCounts["dns"] + last.ClassCounts["auth"] + last.ClassCounts["process"]; got != 100 {
		t.Errorf("class counts sum to %d, want 100", got)
	}
	verifyLog(t, s.Store, refLeafHashes(t, s.Store), []uint64{1, 99, 100, 2537, 2600})
}

func TestSealByCount(t *testing.T) {
	ctx := context.Background()
	models := []gateway.ModelRef{{ID: "mlp/1", SHA256: "ab"}}
	s := openTest(t, nil, WithBatchMaxEvents(10), WithModels(func() []gateway.ModelRef { return models }))
	defer s.Close()
	for _, n := range []int{3, 9, 1, 20, 2} { // 35 events
		mustAppend(t, s.Store, testEvents(int(s.Size()), n, 200))
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 {
		t.Fatalf("%d batches, want 3", len(pending))
	}
	for i, b := range pending {
		if got, want := [2]uint64{b.TreeSizeBefore, b.TreeSizeAfter}, [2]uint64{uint64(10 * i), uint64(10*i + 10)}; got != want {
			t.Errorf("batch %d covers %v, want %v", i, got, want)
		}
		root, _ := s.Root(ctx, b.TreeSizeAfter)
		if b.RootHash != hex.EncodeToString(root) {
			t.Errorf("batch %d root %s, want %x", i, b.RootHash, root)
		}
		if want := gateway.BatchID(testMSP, testGW, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash); b.ID != want {
			t.Errorf("batch %d id %s, want %s", i, b.ID, want)
		}
		if b.State != gateway.BatchSealed || len(b.Models) != 1 || b.Models[0] != models[0] {
			t.Errorf("batch %d state %s models %v", i, b.State, b.Models)
		}
		sum := 0
		for _, c := range b.ClassCounts {
			sum += c
		}
		if sum != 10 {
			t.Errorf("batch %d class counts %v sum to %d, want 10", i, b.ClassCounts, sum)
		}
		if want := testEvent(10*i, 200).Time; !b.TimeFrom.Equal(want) {
			t.Errorf("batch %d TimeFrom %v, want %v", i, b.TimeFrom, want)
		}
		if want := testEvent(10*i+9, 200).Time; !b.TimeTo.Equal(want) {
			t.Errorf("batch %d TimeTo %v, want %v", i, b.TimeTo, want)
		}
		got, err := s.Batch(ctx, b.ID)
		if err != nil || got.ID != b.ID {
			t.Errorf("Batch(%s) = %s, %v", b.ID, got.ID, err)
		}
	}
	// EventByID defaults to the proof against its batch's root.
	ep, err := s.EventByID(ctx, mustEventID(t, s.Store, 13), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Batch == nil || ep.Batch.ID != pending[1].ID || ep.Proof.TreeSize != 20 || ep.Root != pending[1].RootHash {
		t.Errorf("EventByID(seq 13): batch %v, proof size %d, root %s; want batch %s at 20", ep.Batch, ep.Proof.TreeSize, ep.Root, pending[1].ID)
	}
	if err := merkle.VerifyEventInclusion(ep.Canonical, ep.Proof, ep.Batch.RootHash); err != nil {
		t.Errorf("proof against batch root: %v", err)
	}
	// Unsealed events have no batch and prove against the current size.
	ep, err = s.EventByID(ctx, mustEventID(t, s.Store, 33), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Batch != nil || ep.Proof.TreeSize != 35 {
		t.Errorf("EventByID(seq 33): batch %v, proof size %d; want none at 35", ep.Batch, ep.Proof.TreeSize)
	}
	// Seal takes the rest; a second Seal has nothing to do.
	b, ok, err := s.Seal(ctx)
	if err != nil || !ok || b.TreeSizeBefore != 30 || b.TreeSizeAfter != 35 {
		t.Errorf("Seal = %+v, %v, %v; want [30,35)", b, ok, err)
	}
	if _, ok, err := s.Seal(ctx); ok || err != nil {
		t.Errorf("second Seal = %v, %v; want false, nil", ok, err)
	}
}

func TestSealByTime(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithBatchMaxEvents(1000), WithBatchMaxWait(20*time.Millisecond))
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 5, 200))
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := s.PendingBatches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 1 {
			if p[0].TreeSizeAfter != 5 {
				t.Errorf("time-sealed batch covers [%d,%d), want [0,5)", p[0].TreeSizeBefore, p[0].TreeSizeAfter)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch sealed by time within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAgeSealWaitsForTheLedger: with WithAgeSealWhenAnchored, a batch due
// by age is not sealed while an earlier one waits to be anchored (it keeps
// growing), and is sealed by age once that one is anchored.
func TestAgeSealWaitsForTheLedger(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithBatchMaxEvents(1000), WithBatchMaxWait(10*time.Millisecond), WithAgeSealWhenAnchored(true))
	defer s.Close()
	pending := func(want int) []gateway.Batch {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := s.PendingBatches(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) == want || time.Now().After(deadline) {
				return p
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	mustAppend(t, s.Store, testEvents(0, 3, 200))
	first := pending(1)
	if len(first) != 1 || first[0].TreeSizeAfter != 3 {
		t.Fatalf("pending after the first age seal = %+v, want one batch [0,3)", first)
	}
	mustAppend(t, s.Store, testEvents(3, 2, 200))
	time.Sleep(100 * time.Millisecond) // ten times the batch wait
	mustAppend(t, s.Store, testEvents(5, 2, 200))
	time.Sleep(100 * time.Millisecond)
	if p := pending(1); len(p) != 1 {
		t.Fatalf("%d batches pending while the first waits for the ledger, want 1 (the open batch keeps growing)", len(p))
	}
	if err := s.MarkAnchored(ctx, first[0].ID, "tx1", 1); err != nil {
		t.Fatal(err)
	}
	second := pending(1)
	if len(second) != 1 || second[0].TreeSizeBefore != 3 || second[0].TreeSizeAfter != 7 {
		t.Fatalf("pending after anchoring the first = %+v, want one batch [3,7)", second)
	}
}

func TestMarkAnchored(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := openTest(t, nil, WithBatchMaxEvents(4), WithClock(func() time.Time { return clock }))
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 12, 200))
	p, _ := s.PendingBatches(ctx)
	if len(p) != 3 {
		t.Fatalf("%d pending, want 3", len(p))
	}
	for _, tc := range []struct {
		name    string
		id, tx  string
		block   uint64
		wantErr any
	}{
		{"first", p[1].ID, "tx1", 10, nil},
		{"same again", p[1].ID, "tx1", 10, nil},
		{"different tx", p[1].ID, "tx2", 11, new(*AnchorConflictError)},
		{"same tx other block", p[1].ID, "tx1", 12, new(*AnchorConflictError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.MarkAnchored(ctx, tc.id, tc.tx, tc.block)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("MarkAnchored: %v", err)
			}
			if tc.wantErr != nil && !errors.As(err, tc.wantErr) {
				t.Fatalf("MarkAnchored err = %v, want %T", err, tc.wantErr)
			}
		})
	}
	b, err := s.Batch(ctx, p[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != gateway.BatchAnchored || b.TxID != "tx1" || b.BlockNumber != 10 || !b.AnchoredAt.Equal(clock) {
		t.Errorf("anchored batch = %+v", b)
	}
	p2, _ := s.PendingBatches(ctx)
	if len(p2) != 2 || p2[0].ID != p[0].ID || p2[1].ID != p[2].ID {
		t.Errorf("pending after anchoring the middle one: %v", p2)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	mustAppend(t, s.Store, testEvents(0, 2, 200))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, testEvents(2, 1, 200)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := s.EventBySeq(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("EventBySeq after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}
