package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// walSyncFailure injects an error into every sync of a WAL file while on.
type walSyncFailure struct {
	on    atomic.Bool
	fired atomic.Int64
}

func (w *walSyncFailure) injector() errorfs.Injector {
	return errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !w.on.Load() || !strings.HasSuffix(op.Path, ".log") {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			w.fired.Add(1)
			return errorfs.ErrInjected
		}
		return nil
	})
}

// TestFsyncErrorIsFatal: a failed WAL fsync is reported as *FatalError, no
// event of the failed write is acknowledged or visible, the store refuses
// every later write, and after a crash (only synced data survives) every
// acknowledged event is there.
func TestFsyncErrorIsFatal(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	var inj walSyncFailure
	s := openTest(t, errorfs.Wrap(mem, inj.injector()), WithBatchMaxEvents(8))
	acked := mustAppend(t, s.Store, testEvents(0, 20, 300))
	cp, _ := s.Checkpoint(ctx)
	pending, _ := s.PendingBatches(ctx)

	inj.on.Store(true)
	_, err := s.Append(ctx, testEvents(20, 5, 300))
	var fe *FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("Append with failing fsync = %v, want *FatalError", err)
	}
	if inj.fired.Load() == 0 {
		t.Fatal("the injector never fired: the test does not exercise a WAL sync")
	}
	if fe.Op != "append" || fe.FirstSeq != 20 || fe.LastSeq != 24 || !errors.Is(err, errorfs.ErrInjected) {
		t.Errorf("FatalError = %+v, want op append, seqs 20..24, cause ErrInjected", fe)
	}
	// Not acknowledged means not visible either.
	if got, _ := s.Checkpoint(ctx); got != cp {
		t.Errorf("checkpoint after failed fsync = %+v, want %+v", got, cp)
	}
	if _, err := s.EventBySeq(ctx, 20); err == nil {
		t.Error("event of the failed write is readable")
	}

	// The failure is sticky, even once the disk "recovers".
	inj.on.Store(false)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Append", func() error { _, err := s.Append(ctx, testEvents(100, 1, 300)); return err }},
		{"Seal", func() error { _, _, err := s.Seal(ctx); return err }},
		{"MarkAnchored", func() error { return s.MarkAnchored(ctx, pending[0].ID, "tx", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.As(err, new(*FatalError)) {
				t.Errorf("%s after fatal error = %v, want *FatalError", tc.name, err)
			}
		})
	}

	// Crash: keep only what was synced, reopen, find everything acked.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	_ = s.Close()
	s2 := openTest(t, crashed)
	defer s2.Close()
	if s2.Size() < uint64(len(acked)) {
		t.Fatalf("size after crash = %d, acknowledged %d", s2.Size(), len(acked))
	}
	checkAcked(t, s2.Store, acked)
}

// TestCrashCloneLosesNothingAcked: concurrent appenders run while the
// file system is "crashed" (cloned with only synced data) at random
// moments; each clone must hold every event acknowledged before the clone,
// a verifiable tree, and accept appends at the right seq.
func TestCrashCloneLosesNothingAcked(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 6 {
		// Odd rounds zero-fill segment files ahead of appends.
		pre := WithSegmentPreallocation(round%2 == 1)
		mem := vfs.NewCrashableMem()
		s := openTest(t, mem, WithBatchMaxEvents(50), WithMemTableSize(1<<20), WithSegmentBytes(64<<10), pre)
		var (
			mu    sync.Mutex
			acked []gateway.Event
			stop  atomic.Bool
			wg    sync.WaitGroup
		)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load() && i < 400; i++ {
					got, err := s.Append(ctx, testEvents(round*1_000_000+w*10_000+i*20, 20, 400))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					acked = append(acked, got...)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(10+rng.IntN(60)) * time.Millisecond)
		// Everything acknowledged before the clone must survive it.
		mu.Lock()
		before := append([]gateway.Event(nil), acked...)
		mu.Unlock()
		crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(50), RNG: rand.New(rand.NewPCG(uint64(round), 9))})
		stop.Store(true)
		wg.Wait()
		_ = s.Close()

		s2 := openTest(t, crashed, WithBatchMaxEvents(50), WithSegmentBytes(64<<10), pre)
		if s2.Size() < uint64(len(before)) {
			t.Fatalf("round %d: size after crash %d < %d acknowledged", round, s2.Size(), len(before))
		}
		checkAcked(t, s2.Store, before)
		checkBatchesChain(t, s2.Store)
		size := s2.Size()
		got := mustAppend(t, s2.Store, testEvents(9_000_000, 3, 400))
		if got[0].Seq != size {
			t.Errorf("round %d: first seq after crash %d, want %d", round, got[0].Seq, size)
		}
		verifyLog(t, s2.Store, refLeafHashes(t, s2.Store), []uint64{1, size / 2, size, size + 3})
		_ = s2.Close()
		t.Logf("round %d (preallocation %v): %d acknowledged before the crash, %d recovered", round, round%2 == 1, len(before), size)
	}
}

// checkAcked checks that every acknowledged event is stored at its seq with
// its id.
func checkAcked(t testing.TB, s *Store, acked []gateway.Event) {
	t.Helper()
	for _, a := range acked {
		e, err := s.EventBySeq(context.Background(), a.Seq)
		if err != nil {
			t.Fatalf("acknowledged seq %d: %v", a.Seq, err)
		}
		if e.ID != a.ID {
			t.Fatalf("seq %d holds %s, acknowledged %s", a.Seq, e.ID, a.ID)
		}
	}
}

// checkBatchesChain checks the sealed batches tile [0, last sealed size)
// in order, each under the root of its tree size.
func checkBatchesChain(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	p, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var prev uint64
	for _, b := range p {
		if b.TreeSizeBefore != prev {
			t.Fatalf("batch %s starts at %d, previous ended at %d", b.ID, b.TreeSizeBefore, prev)
		}
		root, err := s.Root(ctx, b.TreeSizeAfter)
		if err != nil {
			t.Fatal(err)
		}
		if got := gateway.BatchID(b.GatewayMSP, b.GatewayID, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash); got != b.ID || b.RootHash != hexs(root) {
			t.Fatalf("batch %s: id or root does not match the log", b.ID)
		}
		prev = b.TreeSizeAfter
	}
}
