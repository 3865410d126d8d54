package store

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// segWriteFS passes everything to vfs.FS but shows each write to a
// segment file (".seg", or the spare that becomes one) to onWrite, which
// may cut it short: it returns how many bytes to write and whether to
// fail the write after them (a torn write: what a crash during it leaves).
type segWriteFS struct {
	vfs.FS
	mu      sync.Mutex
	onWrite func(p []byte, off int64) (n int, tear bool)
}

func (fs *segWriteFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !(strings.HasSuffix(name, ".seg") || strings.HasSuffix(name, spareName)) {
		return f, err
	}
	return &segWriteFile{File: f, fs: fs}, nil
}

func (fs *segWriteFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *segWriteFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

type segWriteFile struct {
	vfs.File
	fs *segWriteFS
}

var errTorn = errors.New("torn write (test)")

func (f *segWriteFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	hook := f.fs.onWrite
	f.fs.mu.Unlock()
	if hook == nil {
		return f.File.WriteAt(p, off)
	}
	n, tear := hook(p, off)
	if !tear {
		return f.File.WriteAt(p, off)
	}
	if _, err := f.File.WriteAt(p[:n], off); err != nil {
		return 0, err
	}
	return n, errTorn
}

func (fs *segWriteFS) setOnWrite(h func(p []byte, off int64) (int, bool)) {
	fs.mu.Lock()
	fs.onWrite = h
	fs.mu.Unlock()
}

// checkSegmentFile checks the last segment's file against the log's
// state: whole, valid records up to l.end, the tail writeFrames keeps
// equal to the file's bytes before l.end in its page, and zeros after
// l.end as far as the file goes (or up to l.zeroTo).
func checkSegmentFile(t *testing.T, s *Store) {
	t.Helper()
	l := s.log
	segs := *l.segs.Load()
	cur := segs[len(segs)-1]
	data, err := readAll(l.fs, cur.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, end, err := scanSegment(cur.path, segHeaderSize, data[segHeaderSize:], cur.first, l.count); err != nil || end != l.end {
		t.Fatalf("segment %s: records end at %d (%v), want %d", cur.path, end, err, l.end)
	}
	if got, want := l.tail, data[l.end&^(pageSize-1):l.end]; !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("kept tail of %d bytes differs from the file's %d bytes before offset %d (first at %d): kept %q, file %q, segment %s", len(got), len(want), l.end, i, got[:min(40, len(got))], want[:min(40, len(want))], cur.path)
	}
	if !allZero(data[l.end:]) {
		t.Fatalf("segment %s holds non-zero bytes after its last record (offset %d)", cur.path, l.end)
	}
	if l.zeroTo > l.end && int64(len(data)) < l.zeroTo {
		t.Fatalf("segment %s is %d bytes, want its zeros up to %d kept", cur.path, len(data), l.zeroTo)
	}
}

// TestWholePageWrites: into a preallocated segment every write covers
// whole pages (from the start of the end's page to the end of the last
// frame's page, or past the zeros' end), and the file holds exactly what
// writing the frames alone leaves: the records, then zeros; on the
// OS's file system (O_DIRECT zero-fill, pwritev) as on an in-memory one
// (buffered zero-fill, one copied buffer, whose writes are checked).
func TestWholePageWrites(t *testing.T) {
	const segBytes = 256 << 10
	for _, osfs := range []bool{false, true} {
		t.Run(map[bool]string{false: "mem", true: "os"}[osfs], func(t *testing.T) {
			var fs vfs.FS = vfs.Default
			var rec *segWriteFS
			dir := "db"
			if osfs {
				dir = t.TempDir()
			} else {
				rec = &segWriteFS{FS: vfs.NewMem()}
				fs = rec
			}
			open := func() *Store {
				s, err := Open(t.Context(), dir, WithGateway(testMSP, testGW), WithFS(fs), WithSegmentBytes(segBytes), WithSegmentPreallocation(true), WithBatchMaxEvents(1000))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open()
			var (
				mu     sync.Mutex
				writes [][2]int64 // offset, end
			)
			if rec != nil {
				rec.setOnWrite(func(p []byte, off int64) (int, bool) {
					mu.Lock()
					writes = append(writes, [2]int64{off, off + int64(len(p))})
					mu.Unlock()
					return len(p), false
				})
			}
			var acked []gateway.Event
			checked := 0
			for i := 0; len(*s.log.segs.Load()) < 4; i++ {
				if s.log.end >= segBytes-8192 {
					waitSpareReady(t, s) // so that the roll finds it
				}
				mu.Lock()
				writes = writes[:0]
				mu.Unlock()
				segs, zeroTo, end := len(*s.log.segs.Load()), s.log.zeroTo, s.log.end
				n := 1 + i%7 // groups of 1..7 events of varied sizes, ending anywhere in a page
				acked = append(acked, mustAppend(t, s, testEvents(i*10, n, 200+i%5*333))...)
				checkSegmentFile(t, s)
				if rec == nil {
					continue
				}
				mu.Lock()
				for _, w := range writes {
					// A roll's header goes into the zero-filled spare.
					if w[0] == 0 && w[1] < pageSize {
						t.Errorf("write [0, %d) into the spare is not a whole page", w[1])
					}
				}
				mu.Unlock()
				if zeroTo <= end || segs != len(*s.log.segs.Load()) {
					continue
				}
				mu.Lock()
				for _, w := range writes {
					if w[0]%pageSize != 0 || w[1]%pageSize != 0 && w[1] < zeroTo {
						t.Errorf("write [%d, %d) into zeros up to %d is not whole pages", w[0], w[1], zeroTo)
					}
					checked++
				}
				mu.Unlock()
			}
			if rec != nil && checked == 0 {
				t.Error("no write went into preallocated zeros")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := open()
			defer s2.Close()
			checkSegmentFile(t, s2)
			checkAcked(t, s2, acked)
			acked = append(acked, mustAppend(t, s2, testEvents(1_000_000, 3, 700))...)
			checkSegmentFile(t, s2)
			verifyLog(t, s2, refLeafHashes(t, s2), []uint64{1, uint64(len(acked)) / 2, s2.Size()})
		})
	}
}

// waitSpareReady waits until the spare segment file is filled.
func waitSpareReady(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.log.spare.Load() != spareReady; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the spare segment file was not filled")
		}
	}
}

// TestTornWholePageWrite: a crash during a whole-page write into a
// preallocated segment (torn within the rewritten prefix, at its end,
// within the first frame, after the frames within the padding) loses no
// acknowledged event: the rewritten prefix holds what it held, the open
// keeps or cuts what follows the last whole record, and appending
// resumes at the next seq.
func TestTornWholePageWrite(t *testing.T) {
	const segBytes = 128 << 10
	for _, tc := range []struct {
		name string
		at   func(tail, frames, total int) int // bytes of the write that reach the file
	}{
		{"nothing", func(tail, frames, total int) int { return 0 }},
		{"half the prefix", func(tail, frames, total int) int { return tail / 2 }},
		{"the prefix", func(tail, frames, total int) int { return tail }},
		{"into the first frame", func(tail, frames, total int) int { return tail + 30 }},
		{"the frames", func(tail, frames, total int) int { return tail + frames }},
		{"into the padding", func(tail, frames, total int) int { return (tail + frames + total) / 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &segWriteFS{FS: vfs.NewMem()}
			opts := []Option{WithSegmentBytes(segBytes), WithSegmentPreallocation(true), WithBatchMaxEvents(1000)}
			s := openTest(t, fs, opts...)
			var acked []gateway.Event
			for i := 0; len(*s.log.segs.Load()) < 2 || s.log.end%pageSize < 100; i++ {
				if s.log.end >= segBytes-8192 {
					waitSpareReady(t, s.Store)
				}
				acked = append(acked, mustAppend(t, s.Store, testEvents(i*10, 1+i%3, 500))...)
			}
			if s.log.zeroTo <= s.log.end {
				t.Fatalf("segment not preallocated past its end %d (zeros to %d)", s.log.end, s.log.zeroTo)
			}
			tail := len(s.log.tail)
			var frames, total, cut int
			fs.setOnWrite(func(p []byte, off int64) (int, bool) {
				if off+int64(tail) != s.log.end {
					return len(p), false // another segment's write
				}
				total = len(p)
				// The frames end at the last non-zero byte; the padding
				// after them is zeros.
				frames = len(bytes.TrimRight(p[tail:], "\x00"))
				cut = tc.at(tail, frames, total)
				return cut, true
			})
			if _, err := s.Append(t.Context(), testEvents(500_000, 3, 900)); err == nil {
				t.Fatal("Append after a torn write succeeded")
			}
			fs.setOnWrite(nil)
			if total == 0 || frames == 0 || total < tail+frames {
				t.Fatalf("the write was not seen whole-page: tail %d, frames %d, total %d", tail, frames, total)
			}
			_ = s.Close()

			s2 := openTest(t, fs, opts...)
			defer s2.Close()
			if s2.Size() < uint64(len(acked)) {
				t.Fatalf("size after the torn write %d < %d acknowledged", s2.Size(), len(acked))
			}
			checkAcked(t, s2.Store, acked)
			checkSegmentFile(t, s2.Store)
			size := s2.Size()
			got := mustAppend(t, s2.Store, testEvents(900_000, 4, 600))
			if got[0].Seq != size {
				t.Errorf("first seq after reopen %d, want %d", got[0].Seq, size)
			}
			checkSegmentFile(t, s2.Store)
			verifyLog(t, s2.Store, refLeafHashes(t, s2.Store), []uint64{1, size, s2.Size()})
			t.Logf("tail %d, frames %d, write %d, torn after %d: %d acknowledged, %d after reopen", tail, frames, total, cut, len(acked), size)
		})
	}
}
