package store

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// withIndexSyncHold calls hold before each fsync of Pebble's WAL by the
// index syncer, which skips the fsync when hold returns false.
func withIndexSyncHold(hold func() bool) Option {
	return func(c *config) error { c.testIndexSyncHold = hold; return nil }
}

// withAfterSegment calls f after each group's segment fsync, before its
// Pebble batch is applied.
func withAfterSegment(f func()) Option {
	return func(c *config) error { c.testAfterSegment = f; return nil }
}

// appendWithin appends and fails the test if Append takes longer than d
// (it waits for something it must not wait for).
func appendWithin(t *testing.T, s *Store, events []gateway.Event, d time.Duration) []gateway.Event {
	t.Helper()
	type result struct {
		got []gateway.Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := s.Append(context.Background(), events)
		done <- result{got, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.got
	case <-time.After(d):
		t.Fatalf("Append not acknowledged after %v: it waits for Pebble's fsync", d)
		return nil
	}
}

// TestCrashBeforeIndexSync: Append is acknowledged once its records are
// fsynced in the segment file, without waiting for Pebble's fsync (held
// back here); a crash then, with none of those groups in Pebble's durable
// WAL, loses nothing acknowledged: Open replays the records past Pebble's
// checkpoint into the id index and the Merkle nodes, so the events are
// found by id, retries are deduplicated, proofs verify and appends resume.
func TestCrashBeforeIndexSync(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	var held atomic.Int64
	s := openTest(t, mem, WithBatchMaxEvents(1000), WithAckAfterSegment(true), withIndexSyncHold(func() bool { held.Add(1); <-release; return true }))
	var acked []gateway.Event
	for g := range 4 {
		acked = append(acked, appendWithin(t, s.Store, testEvents(g*20, 20, 300), 10*time.Second)...)
	}
	for deadline := time.Now().Add(5 * time.Second); held.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index syncer never ran: the test does not hold back Pebble's fsync")
		}
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{}) // only what was fsynced
	releaseOnce.Do(func() { close(release) })
	_ = s.Close()

	s2 := openTest(t, crashed, WithBatchMaxEvents(1000))
	defer s2.Close()
	if got := s2.Stats().Replayed; got == 0 {
		t.Error("Open replayed nothing: Pebble's checkpoint was not behind the segment, the test does not exercise the replay")
	}
	if s2.Size() != uint64(len(acked)) {
		t.Fatalf("size after crash = %d, acknowledged %d", s2.Size(), len(acked))
	}
	checkAcked(t, s2.Store, acked)
	last := acked[len(acked)-1]
	ep, err := s2.EventByID(ctx, last.ID, 0)
	if err != nil || ep.Event.Seq != last.Seq {
		t.Fatalf("EventByID(%s) after replay = seq %d, %v; want seq %d", last.ID, ep.Event.Seq, err, last.Seq)
	}
	// A retry of acknowledged events stores nothing twice.
	again := mustAppend(t, s2.Store, testEvents(40, 20, 300))
	for i, e := range again {
		if e.Seq != acked[40+i].Seq {
			t.Fatalf("retry of seq %d stored again as %d", acked[40+i].Seq, e.Seq)
		}
	}
	got := mustAppend(t, s2.Store, testEvents(1000, 3, 300))
	if got[0].Seq != uint64(len(acked)) {
		t.Errorf("first new seq after crash %d, want %d", got[0].Seq, len(acked))
	}
	b, ok, err := s2.Seal(ctx)
	if err != nil || !ok || b.TreeSizeBefore != 0 || b.TreeSizeAfter != s2.Size() {
		t.Fatalf("Seal after replay = %+v, %v, %v; want [0, %d)", b, ok, err, s2.Size())
	}
	checkBatchesChain(t, s2.Store)
	verifyLog(t, s2.Store, refLeafHashes(t, s2.Store), []uint64{1, 20, 61, s2.Size()})

	// The replay was made durable: a second crash right after Open finds
	// the same.
	s3 := openTest(t, crashed.CrashClone(vfs.CrashCloneCfg{}), WithBatchMaxEvents(1000))
	defer s3.Close()
	if s3.Stats().Replayed != 0 || s3.Size() != s2.Size() {
		t.Errorf("after a second crash: replayed %d, size %d; want 0, %d", s3.Stats().Replayed, s3.Size(), s2.Size())
	}
}

// TestCrashBetweenSegmentAndIndex: a crash after a group's segment fsync
// and before its Pebble batch is applied (the group not acknowledged yet)
// leaves records Open replays, including a batch the group sealed by
// count: it is sealed again, under the same root and id, and pending.
func TestCrashBetweenSegmentAndIndex(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	var (
		calls   atomic.Int64
		crashed *vfs.MemFS
	)
	s := openTest(t, mem, WithBatchMaxEvents(10), withAfterSegment(func() {
		if calls.Add(1) == 2 {
			crashed = mem.CrashClone(vfs.CrashCloneCfg{})
		}
	}))
	first := mustAppend(t, s.Store, testEvents(0, 7, 300))
	second := mustAppend(t, s.Store, testEvents(7, 7, 300)) // seals [0, 10)
	want, err := s.Batch(ctx, mustPending(t, s.Store)[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s2 := openTest(t, crashed, WithBatchMaxEvents(10))
	defer s2.Close()
	if s2.Size() != 14 || s2.Stats().Replayed == 0 {
		t.Fatalf("after the crash: size %d, replayed %d; want 14 from the segment", s2.Size(), s2.Stats().Replayed)
	}
	checkAcked(t, s2.Store, append(first, second...))
	p := mustPending(t, s2.Store)
	if len(p) != 1 || p[0].ID != want.ID || p[0].RootHash != want.RootHash || p[0].TreeSizeAfter != 10 {
		t.Fatalf("pending after replay = %+v, want the batch %s sealed before the crash", p, want.ID)
	}
	checkBatchesChain(t, s2.Store)
	got := mustAppend(t, s2.Store, testEvents(100, 6, 300)) // seals [10, 20)
	if got[0].Seq != 14 || len(mustPending(t, s2.Store)) != 2 {
		t.Errorf("after replay: first seq %d, %d pending; want 14, 2", got[0].Seq, len(mustPending(t, s2.Store)))
	}
	verifyLog(t, s2.Store, refLeafHashes(t, s2.Store), []uint64{1, 10, 14, 20})
}

func mustPending(t testing.TB, s *Store) []gateway.Batch {
	t.Helper()
	p, err := s.PendingBatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIndexSyncErrorIsFatal: a failed fsync of Pebble's WAL off the
// acknowledgement path is fatal as one on it is: the store refuses later
// writes; what it acknowledged (in the segment files) survives a crash.
func TestIndexSyncErrorIsFatal(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	var inj walSyncFailure
	s := openTest(t, errorfs.Wrap(mem, inj.injector()), WithBatchMaxEvents(1000), WithAckAfterSegment(true))
	acked := mustAppend(t, s.Store, testEvents(0, 20, 300))
	for deadline := time.Now().Add(5 * time.Second); s.Stats().IndexSyncs == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index syncer never synced the first group")
		}
	}
	inj.on.Store(true)
	acked = append(acked, mustAppend(t, s.Store, testEvents(20, 5, 300))...) // the segment fsync succeeds
	var fe *FatalError
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Append(ctx, testEvents(1000, 1, 300))
		if errors.As(err, &fe) {
			break
		}
		if err != nil {
			t.Fatalf("Append after a failed index sync = %v, want *FatalError", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the store still accepts writes 10 s after Pebble's fsync failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !errors.Is(fe, errorfs.ErrInjected) || inj.fired.Load() == 0 {
		t.Errorf("FatalError = %v, want the injected WAL sync error", fe)
	}
	inj.on.Store(false)
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	_ = s.Close()
	s2 := openTest(t, crashed, WithBatchMaxEvents(1000))
	defer s2.Close()
	if s2.Size() < uint64(len(acked)) {
		t.Fatalf("size after crash = %d, acknowledged %d", s2.Size(), len(acked))
	}
	checkAcked(t, s2.Store, acked)
}

// TestReplayRefusesForeignRecord: a whole frame past the checkpoint that
// passes its checksum but does not hold an event is not a torn write: Open
// refuses, naming the segment file, rather than replay or drop it.
func TestReplayRefusesForeignRecord(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs)
	acked := mustAppend(t, s.Store, testEvents(0, 30, 300))
	path, _ := lastSegment(t, s.Store)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	leaf := []byte(`{"id":"x","seq":30}`)
	frame := make([]byte, frameOverhead, frameOverhead+len(leaf))
	frame[durable.FrameHeaderSize+7] = byte(len(acked))
	frame = append(frame, leaf...)
	durable.PutFrameHeader(frame, frame[durable.FrameHeaderSize:])
	appendToFile(t, fs, path, frame)

	_, err := Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(fs))
	var ce *SegmentCorruptError
	if !errors.As(err, &ce) || ce.Path != path || !strings.Contains(ce.Reason, "seq 30") {
		t.Fatalf("Open = %v, want *SegmentCorruptError naming %s and seq 30", err, path)
	}
}

// TestCloseSyncsIndex: after a clean Close Pebble's durable checkpoint
// covers every record, even when the index syncer never synced (held
// back here; Pebble's Close syncs its WAL): a crash right after finds
// nothing to replay, and a gateway from before indexsync.go, which cuts
// records past the checkpoint, would lose nothing.
func TestCloseSyncsIndex(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openTest(t, mem, WithBatchMaxEvents(1000), WithAckAfterSegment(true), withIndexSyncHold(func() bool { return false }))
	acked := mustAppend(t, s.Store, testEvents(0, 30, 300))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, mem.CrashClone(vfs.CrashCloneCfg{}), WithBatchMaxEvents(1000))
	defer s2.Close()
	if s2.Stats().Replayed != 0 || s2.Size() != uint64(len(acked)) {
		t.Errorf("after a clean close and a crash: replayed %d, size %d; want 0, %d", s2.Stats().Replayed, s2.Size(), len(acked))
	}
}

// TestDefaultAckRefusesDamagedLastGroup: by default every acknowledged
// record is covered by Pebble's durable checkpoint, so after a crash
// (nothing closed cleanly) damage to the last acknowledged record still
// makes Open refuse with a *SegmentCorruptError, where
// WithAckAfterSegment cuts it as a torn write.
func TestDefaultAckRefusesDamagedLastGroup(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []Option
		wantRefuse bool
	}{
		{"default", nil, true},
		{"ack-after-segment", []Option{WithAckAfterSegment(true), withIndexSyncHold(func() bool { return false })}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			s := openTest(t, mem, append([]Option{WithBatchMaxEvents(1000)}, tc.opts...)...)
			var acked []gateway.Event
			for g := range 3 {
				acked = append(acked, mustAppend(t, s.Store, testEvents(g*20, 20, 300))...)
			}
			last := acked[len(acked)-1].Seq
			seg, _ := s.log.find(last)
			offs, err := seg.offsets(last, last+1)
			if err != nil {
				t.Fatal(err)
			}
			path, _ := lastSegment(t, s.Store)
			crashed := mem.CrashClone(vfs.CrashCloneCfg{})
			_ = s.Close()
			flipByte(t, crashed, path, offs[0]+frameOverhead+10)

			s2, err := Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(crashed), WithBatchMaxEvents(1000))
			var ce *SegmentCorruptError
			if got := errors.As(err, &ce); got != tc.wantRefuse {
				t.Fatalf("Open after damage to the last acknowledged record = %v; want refusal %v", err, tc.wantRefuse)
			}
			if tc.wantRefuse && ce.Offset != offs[0] {
				t.Errorf("error names offset %d, want %d", ce.Offset, offs[0])
			}
			if s2 != nil {
				_ = s2.Close()
			}
		})
	}
}

// TestRecoverFsyncsKeptTail: records a kill -9 left written but not
// fsynced (in the page cache) are kept by Open and covered by the
// replayed checkpoint, so Open fsyncs them first: a power loss after that
// open must not leave a checkpoint without its records.
func TestRecoverFsyncsKeptTail(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openTest(t, mem, WithBatchMaxEvents(1000), WithSegmentPreallocation(false))
	mustAppend(t, s.Store, testEvents(0, 5, 300))
	synced := mem.CrashClone(vfs.CrashCloneCfg{}) // 5 records, checkpoint 5
	mustAppend(t, s.Store, testEvents(5, 5, 300))
	seg, _ := lastSegment(t, s.Store)
	f, err := mem.Open(seg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// The kill -9 state: all 10 records written, the last 5 never fsynced.
	g, err := synced.OpenReadWrite(seg, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	g.Close()
	s2 := openTest(t, synced, WithBatchMaxEvents(1000), WithSegmentPreallocation(false))
	if s2.Size() != 10 {
		t.Fatalf("size after kill -9 = %d, want the 10 whole records", s2.Size())
	}
	powerLoss := synced.CrashClone(vfs.CrashCloneCfg{})
	_ = s2.Close()
	s3, err := Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(powerLoss), WithBatchMaxEvents(1000), WithSegmentPreallocation(false))
	if err != nil {
		t.Fatalf("Open after a power loss following that open: %v", err)
	}
	defer s3.Close()
	if s3.Size() != 10 {
		t.Errorf("size after the power loss = %d, want 10", s3.Size())
	}
}

// TestReadOnlyOpenDoesNotSeal: a crash in the group that seals a batch by
// count leaves records past the checkpoint; a read-only open (export,
// report: no models, maybe another batch size) serves the checkpoint,
// refuses appends and seals nothing, so the gateway's next open seals
// the batch with its models.
func TestReadOnlyOpenDoesNotSeal(t *testing.T) {
	mem := vfs.NewCrashableMem()
	models := WithModels(func() []gateway.ModelRef { return []gateway.ModelRef{{ID: "m", Version: "1", SHA256: "aa"}} })
	var calls atomic.Int64
	var crashed *vfs.MemFS
	s := openTest(t, mem, WithBatchMaxEvents(10), models, withAfterSegment(func() {
		if calls.Add(1) == 2 {
			crashed = mem.CrashClone(vfs.CrashCloneCfg{})
		}
	}))
	mustAppend(t, s.Store, testEvents(0, 7, 300))
	mustAppend(t, s.Store, testEvents(7, 7, 300)) // seals [0, 10)
	_ = s.Close()
	if crashed == nil {
		t.Fatal("the crash hook did not run")
	}
	ro := openTest(t, crashed, WithBatchMaxEvents(3), WithReadOnly())
	if got := ro.Size(); got != 7 {
		t.Errorf("read-only size = %d, want the checkpoint's 7", got)
	}
	if _, err := ro.Append(context.Background(), testEvents(100, 1, 300)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only Append = %v, want ErrReadOnly", err)
	}
	_ = ro.Close()
	gw := openTest(t, crashed, WithBatchMaxEvents(10), models)
	defer gw.Close()
	bs, err := gw.PendingBatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].TreeSizeBefore != 0 || bs[0].TreeSizeAfter != 10 || len(bs[0].Models) != 1 {
		t.Errorf("pending batches after the gateway's open = %+v, want [0, 10) listing model m", bs)
	}
}
