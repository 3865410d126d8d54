package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// lastSegment returns the path and size of the store's last segment file.
func lastSegment(t testing.TB, s *Store) (string, int64) {
	t.Helper()
	segs := *s.log.segs.Load()
	p := segs[len(segs)-1].path
	st, err := s.cfg.fs.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, st.Size()
}

// appendToFile appends b to path (what a crash leaves after a write that
// was never acknowledged).
func appendToFile(t testing.TB, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, st.Size()); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestSegmentTornTail: whatever follows the last whole record in the last
// segment (half a frame, zeros, garbage, whole frames after a torn one) is
// cut off at open; every acknowledged event is there and appending
// resumes at the next seq. (Whole records past the checkpoint are kept and
// replayed: TestCrashBeforeIndexSync.)
func TestSegmentTornTail(t *testing.T) {
	ctx := context.Background()
	whole := func(seq uint64) []byte {
		leaf := []byte(`{"id":"x","seq":` + string(rune('0'+seq%10)) + `}`)
		frame := make([]byte, frameOverhead, frameOverhead+len(leaf))
		frame[durable.FrameHeaderSize+7] = byte(seq)
		frame = append(frame, leaf...)
		durable.PutFrameHeader(frame, frame[durable.FrameHeaderSize:])
		return frame
	}
	for _, tc := range []struct {
		name string
		tail func(next uint64) []byte
	}{
		{"half a frame", func(next uint64) []byte { return whole(next)[:30] }},
		{"half a header", func(next uint64) []byte { return whole(next)[:5] }},
		{"zeros", func(uint64) []byte { return make([]byte, 4096) }},
		{"garbage", func(uint64) []byte { return []byte(strings.Repeat("\xff\x13garbage", 100)) }},
		{"torn frame then whole frames", func(next uint64) []byte { return append(whole(next)[:20], whole(next+1)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := openTest(t, fs, WithBatchMaxEvents(7))
			acked := mustAppend(t, s.Store, testEvents(0, 30, 300))
			cp, _ := s.Checkpoint(ctx)
			path, size := lastSegment(t, s.Store)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			appendToFile(t, fs, path, tc.tail(uint64(len(acked))))

			s2 := openTest(t, fs, WithBatchMaxEvents(7))
			defer s2.Close()
			if got, _ := s2.Checkpoint(ctx); got != cp {
				t.Fatalf("checkpoint after reopen = %+v, want %+v", got, cp)
			}
			if _, got := lastSegment(t, s2.Store); got != size {
				t.Errorf("segment is %d bytes after reopen, want the tail cut to %d", got, size)
			}
			checkAcked(t, s2.Store, acked)
			got := mustAppend(t, s2.Store, testEvents(100, 3, 300))
			if got[0].Seq != uint64(len(acked)) {
				t.Errorf("first seq after reopen %d, want %d", got[0].Seq, len(acked))
			}
			verifyLog(t, s2.Store, refLeafHashes(t, s2.Store), []uint64{1, 17, s2.Size()})
		})
	}
}

// TestSegmentCorruptionRefusesOpen: damage to an acknowledged record of
// the last segment (the one open checks) makes Open fail with a
// *SegmentCorruptError naming the file and the damaged record's offset,
// and leaves the file as it was: nothing after the damage is dropped.
func TestSegmentCorruptionRefusesOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delta int64 // from the damaged record's offset
	}{
		{"checksum", frameOverhead + 10},
		{"length", 2},
		{"seq", durable.FrameHeaderSize + 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := openTest(t, fs)
			mustAppend(t, s.Store, testEvents(0, 40, 300))
			seg, _ := s.log.find(17)
			offs, err := seg.offsets(17, 18)
			if err != nil {
				t.Fatal(err)
			}
			path, size := lastSegment(t, s.Store)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			flipByte(t, fs, path, offs[0]+tc.delta)

			_, err = Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(fs))
			var ce *SegmentCorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want *SegmentCorruptError", err)
			}
			if ce.Path != path || ce.Offset != offs[0] {
				t.Errorf("error names %s offset %d, want %s offset %d", ce.Path, ce.Offset, path, offs[0])
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
				t.Errorf("message %q does not name the file and offset", err)
			}
			if st, _ := fs.Stat(path); st.Size() != size {
				t.Errorf("refused open changed the segment: %d bytes, was %d", st.Size(), size)
			}
		})
	}
}

// TestSegmentSyncFailureIsFatal: a failed fsync of a segment file fails
// the append with *FatalError (nothing of it acknowledged or visible), the
// store refuses later writes, and after a crash every acknowledged event
// is there.
func TestSegmentSyncFailureIsFatal(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	var on atomic.Bool
	var fired atomic.Int64
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !on.Load() || !strings.HasSuffix(op.Path, ".seg") {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			fired.Add(1)
			return errorfs.ErrInjected
		}
		return nil
	})
	s := openTest(t, errorfs.Wrap(mem, inj), WithBatchMaxEvents(8))
	acked := mustAppend(t, s.Store, testEvents(0, 20, 300))
	cp, _ := s.Checkpoint(ctx)

	on.Store(true)
	_, err := s.Append(ctx, testEvents(20, 5, 300))
	var fe *FatalError
	if !errors.As(err, &fe) || !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Append with failing segment fsync = %v, want *FatalError caused by the injected error", err)
	}
	if fired.Load() == 0 {
		t.Fatal("the injector never fired")
	}
	if fe.FirstSeq != 20 || fe.LastSeq != 24 {
		t.Errorf("FatalError seqs %d..%d, want 20..24", fe.FirstSeq, fe.LastSeq)
	}
	if got, _ := s.Checkpoint(ctx); got != cp {
		t.Errorf("checkpoint after failed fsync = %+v, want %+v", got, cp)
	}
	on.Store(false)
	if _, err := s.Append(ctx, testEvents(30, 1, 300)); !errors.As(err, new(*FatalError)) {
		t.Errorf("Append after a failed fsync = %v, want *FatalError", err)
	}

	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	_ = s.Close()
	s2 := openTest(t, crashed, WithBatchMaxEvents(8))
	defer s2.Close()
	if s2.Size() != uint64(len(acked)) {
		t.Fatalf("size after crash = %d, want the %d acknowledged", s2.Size(), len(acked))
	}
	checkAcked(t, s2.Store, acked)
}

// TestSegmentsRoll: with small segments the log spans many files; proofs,
// Leaves across segment boundaries and lookups work, a reopen finds them
// all, and a lost index of a full segment is rebuilt from its frames.
func TestSegmentsRoll(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	opts := []Option{WithBatchMaxEvents(50), WithSegmentBytes(8 << 10)}
	s := openTest(t, fs, opts...)
	var acked []gateway.Event
	for k := range 40 {
		acked = append(acked, mustAppend(t, s.Store, testEvents(k*10, 10, 400))...)
	}
	segs := *s.log.segs.Load()
	if len(segs) < 10 {
		t.Fatalf("%d segments for %d events of 400 bytes at 8 KiB each, want many", len(segs), len(acked))
	}
	leaves, err := s.Leaves(ctx, 3, 397)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		if l.Event.ID != acked[3+i].ID {
			t.Fatalf("leaf %d is %s, want %s", 3+i, l.Event.ID, acked[3+i].ID)
		}
	}
	verifyLog(t, s.Store, refLeafHashes(t, s.Store), []uint64{1, 99, 256, 400})
	// Only the last segment keeps its files open between reads.
	for _, sg := range segs[:len(segs)-1] {
		if sg.f != nil || sg.idx != nil || sg.refs != 0 {
			t.Errorf("segment %s still open after its reads (refs %d)", sg.path, sg.refs)
		}
	}
	if last := segs[len(segs)-1]; last.f == nil || last.refs != 1 {
		t.Errorf("last segment not held open for appends (refs %d)", last.refs)
	}
	idx := segs[2].idxPath
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(idx); err != nil {
		t.Fatal(err)
	}

	s2 := openTest(t, fs, opts...)
	defer s2.Close()
	if got := len(*s2.log.segs.Load()); got != len(segs) {
		t.Errorf("%d segments after reopen, want %d", got, len(segs))
	}
	checkAcked(t, s2.Store, acked)
	for _, e := range acked[:50] {
		p, err := s2.EventByID(ctx, e.ID, 0)
		if err != nil || p.Event.Seq != e.Seq {
			t.Fatalf("EventByID(%s) = seq %d, %v; want %d", e.ID, p.Event.Seq, err, e.Seq)
		}
	}
	got := mustAppend(t, s2.Store, testEvents(5000, 3, 400))
	if got[0].Seq != 400 {
		t.Errorf("first seq after reopen %d, want 400", got[0].Seq)
	}
}

// TestIDFilterSkipsLookups: new ids almost never pay an exact lookup
// (only the filter's false positives do), while a replay of stored ids
// is caught by the lookup and answered with the stored copies, also
// after a reopen (the filter is rebuilt from the id index).
func TestIDFilterSkipsLookups(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs)
	const n = 5000
	var acked []gateway.Event
	for k := range n / 100 {
		acked = append(acked, mustAppend(t, s.Store, testEvents(k*100, 100, 200))...)
	}
	if p := s.Stats().Probes; p > n/20 {
		t.Errorf("%d of %d new ids paid a lookup, want at most 5 %%", p, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, fs)
	defer s2.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		from := rng.IntN(n - 50)
		got := mustAppend(t, s2.Store, testEvents(from, 50, 200))
		for i, e := range got {
			if e.Seq != acked[from+i].Seq || e.ID != acked[from+i].ID {
				t.Fatalf("replayed event %d = seq %d id %s, want the stored seq %d id %s", from+i, e.Seq, e.ID, acked[from+i].Seq, acked[from+i].ID)
			}
		}
	}
	if s2.Size() != n {
		t.Errorf("size after replays %d, want %d", s2.Size(), n)
	}
	if p := s2.Stats().Probes; p < 250 {
		t.Errorf("replays paid %d lookups, want every one of the 250 replayed ids looked up", p)
	}
}

// FuzzScanSegment: scanning arbitrary segment bytes never panics and
// either refuses them or returns offsets of frames that parse and hold the
// wanted seqs, in order, ending where it says.
func FuzzScanSegment(f *testing.F) {
	good := func(seqs ...uint64) []byte {
		var b []byte
		for _, seq := range seqs {
			at := len(b)
			b = append(b, make([]byte, frameOverhead)...)
			b[at+durable.FrameHeaderSize+7] = byte(seq)
			b = append(b, `{"id":"a"}`...)
			durable.PutFrameHeader(b[at:], b[at+durable.FrameHeaderSize:])
		}
		return b
	}
	f.Add(good(0, 1, 2), uint8(3))
	f.Add(good(0, 1, 2)[:70], uint8(2))
	f.Add(good(0, 2), uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, want uint8) {
		offs, end, err := scanSegment("seg", segHeaderSize, data, 0, uint64(want))
		if err != nil {
			if !errors.As(err, new(*SegmentCorruptError)) {
				t.Fatalf("error %v is not a *SegmentCorruptError", err)
			}
			return
		}
		if len(offs) != int(want) || end > segHeaderSize+int64(len(data)) {
			t.Fatalf("%d offsets ending at %d for %d wanted of %d bytes", len(offs), end, want, len(data))
		}
		for k, o := range offs {
			p, ok, _ := durable.ParseFrame(data[o-segHeaderSize:])
			if !ok || len(p) < recordPrefix || p[7] != byte(k) {
				t.Fatalf("offset %d of seq %d does not hold its frame", o, k)
			}
		}
	})
}

// TestReadsDuringRolls: readers page through the log (Leaves, EventBySeq,
// proofs) while appenders fill small segments, so reads race with rolls
// and with the release of the full segments' files (run with -race).
func TestReadsDuringRolls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithBatchMaxEvents(64), WithSegmentBytes(16<<10))
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 10, 300))
	var stop atomic.Bool
	errc := make(chan error, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 1; k < 150; k++ {
			if _, err := s.Append(ctx, testEvents(k*10, 10, 300)); err != nil {
				errc <- err
				return
			}
		}
	}()
	var readers atomic.Int64
	for r := range 3 {
		readers.Add(1)
		go func() {
			defer readers.Add(-1)
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for !stop.Load() {
				size := s.Size()
				from := rng.Uint64N(size)
				to := min(size, from+1+rng.Uint64N(100))
				ls, err := s.Leaves(ctx, from, to)
				if err == nil && ls[0].Event.Seq != from {
					err = errors.New("Leaves returned the wrong first seq")
				}
				if err == nil {
					_, err = s.EventBySeq(ctx, to-1)
				}
				if err == nil {
					_, err = s.InclusionProof(ctx, from, size)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	<-done
	stop.Store(true)
	for readers.Load() > 0 {
		runtime.Gosched()
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if n := len(*s.log.segs.Load()); n < 20 {
		t.Errorf("only %d segments: the test did not roll much", n)
	}
}

// TestMissingSegmentRefusesOpen: a segment file gone from the middle of
// the log (its neighbours cannot account for its seqs) makes Open fail
// with a *SegmentCorruptError instead of serving a log with a hole.
func TestMissingSegmentRefusesOpen(t *testing.T) {
	fs := vfs.NewMem()
	opts := []Option{WithSegmentBytes(8 << 10)}
	s := openTest(t, fs, opts...)
	for k := range 20 {
		mustAppend(t, s.Store, testEvents(k*10, 10, 400))
	}
	segs := *s.log.segs.Load()
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	gone := segs[2]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{gone.path, gone.idxPath} {
		if err := fs.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(context.Background(), "db", append([]Option{WithGateway(testMSP, testGW), WithFS(fs)}, opts...)...)
	var ce *SegmentCorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open without segment %s = %v, want *SegmentCorruptError", gone.path, err)
	}
	t.Logf("refused: %v", err)
}

// TestSegmentPreallocation: with preallocation, the next segment's file
// is zero-filled in the background once the current one is half full and
// becomes the next segment, so appends overwrite zeros rather than grow
// the file; the zeros after the last record are kept at open, not cut as
// a torn write; a torn write into them is cut; every event survives.
func TestSegmentPreallocation(t *testing.T) {
	const segBytes = 64 << 10
	fs := vfs.NewMem()
	opts := []Option{WithSegmentBytes(segBytes), WithSegmentPreallocation(true), WithBatchMaxEvents(1000)}
	s := openTest(t, fs, opts...)
	waitSpare := func() {
		for deadline := time.Now().Add(5 * time.Second); s.log.spare.Load() != spareReady; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the spare segment file was not filled")
			}
		}
	}
	var acked []gateway.Event
	for i := 0; len(*s.log.segs.Load()) < 4; i++ {
		if s.log.end >= segBytes-4096 {
			waitSpare() // so that the roll finds it (else it creates the file)
		}
		acked = append(acked, mustAppend(t, s.Store, testEvents(i*20, 20, 400))...)
	}
	if st, err := fs.Stat(fs.PathJoin(s.log.dir, spareName)); err == nil {
		t.Errorf("a spare of %d bytes exists while the new segment is not half full", st.Size())
	}
	path, size := lastSegment(t, s.Store)
	if size != segBytes {
		t.Errorf("last segment is %d bytes, want %d (appends overwrite its zeros)", size, segBytes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openTest(t, fs, opts...)
	if _, got := lastSegment(t, s2.Store); got != size {
		t.Errorf("after reopen the last segment is %d bytes, want its zeros kept (%d)", got, size)
	}
	checkAcked(t, s2.Store, acked)
	acked = append(acked, mustAppend(t, s2.Store, testEvents(100_000, 5, 400))...)
	end := s2.log.end
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn write into the zeros: half a frame.
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0x50, 0, 0, 0, 1, 2, 3, 4, 5}, end); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	s3 := openTest(t, fs, opts...)
	defer s3.Close()
	if _, got := lastSegment(t, s3.Store); got != end {
		t.Errorf("after cutting the torn write the last segment is %d bytes, want %d", got, end)
	}
	checkAcked(t, s3.Store, acked)
	got := mustAppend(t, s3.Store, testEvents(200_000, 3, 400))
	if got[0].Seq != uint64(len(acked)) {
		t.Errorf("first seq after reopen %d, want %d", got[0].Seq, len(acked))
	}
	verifyLog(t, s3.Store, refLeafHashes(t, s3.Store), []uint64{1, uint64(len(acked)) / 2, s3.Size()})
}
