package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ledgerguard/ledgerguard/gateway/durable"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestLeaves: every range returns, per seq, the event EventBySeq returns,
// the stored leaf bytes exactly, and their RFC 6962 leaf hash.
func TestLeaves(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithBatchMaxEvents(5))
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 23, 300))
	mustAppend(t, s.Store, testEvents(23, 14, 900))
	tests := []struct{ from, to uint64 }{{0, 0}, {0, 1}, {0, 37}, {5, 10}, {22, 24}, {36, 37}, {37, 37}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d", tt.from, tt.to), func(t *testing.T) {
			got, err := s.Leaves(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != int(tt.to-tt.from) {
				t.Fatalf("got %d leaves, want %d", len(got), tt.to-tt.from)
			}
			for i, l := range got {
				seq := tt.from + uint64(i)
				want, err := s.EventBySeq(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				wantLeaf := rawLeaf(t, s.Store, seq)
				if l.Event.ID != want.ID || l.Event.Seq != seq || !bytes.Equal(l.Event.Raw, want.Raw) {
					t.Errorf("seq %d: event %s@%d, want %s@%d", seq, l.Event.ID, l.Event.Seq, want.ID, seq)
				}
				if !bytes.Equal(l.Canonical, wantLeaf) {
					t.Errorf("seq %d: canonical bytes differ from the stored leaf", seq)
				}
				if c, _ := l.Event.Canonical(); !bytes.Equal(c, l.Canonical) {
					t.Errorf("seq %d: the event does not re-encode to its leaf", seq)
				}
				if got, want := l.LeafHash[:], rfc6962.DefaultHasher.HashLeaf(wantLeaf); !bytes.Equal(got, want) {
					t.Errorf("seq %d: leaf hash %x, want %x", seq, got, want)
				}
				if cap(l.Canonical) != len(l.Canonical) {
					t.Errorf("seq %d: canonical bytes have spare capacity %d, an append would overwrite the next leaf", seq, cap(l.Canonical)-len(l.Canonical))
				}
			}
		})
	}
}

func TestLeavesErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	mustAppend(t, s.Store, testEvents(0, 7, 200))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		from, to uint64
		want     any
	}{
		{"end beyond size", ctx, 0, 8, new(*TreeSizeError)},
		{"empty range beyond size", ctx, 8, 8, new(*TreeSizeError)},
		{"reversed", ctx, 3, 2, new(*ArgumentError)},
		{"longer than MaxLeaves", ctx, 0, MaxLeaves + 1, new(*ArgumentError)},
		{"canceled", canceled, 0, 1, new(error)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Leaves(tc.ctx, tc.from, tc.to)
			if err == nil || !errors.As(err, tc.want) {
				t.Errorf("err = %v (%T), want %T", err, err, tc.want)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Leaves(ctx, 0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Leaves after Close = %v, want ErrClosed", err)
	}
}

// TestLeavesCorrupt: a segment record that fails its checksum or holds
// another seq, or an index entry that does not point at its record, is a
// *SegmentCorruptError naming the file and the offset; ranges that do not
// touch the damage still read.
func TestLeavesCorrupt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		idx      bool  // damage the index, not the segment
		delta    int64 // from the record's offset (segment) or its entry (index)
		wantFile string
	}{
		{"flipped leaf byte", false, frameOverhead + 20, ".seg"},
		{"flipped seq byte", false, durable.FrameHeaderSize + 7, ".seg"},
		{"flipped length byte", false, 1, ".seg"},
		{"index entry off by one", true, 7, ".idx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil)
			defer s.Close()
			mustAppend(t, s.Store, testEvents(0, 9, 200))
			seg, _ := s.log.find(4)
			offs, err := seg.offsets(4, 5)
			if err != nil {
				t.Fatal(err)
			}
			path, at := seg.path, offs[0]+tc.delta
			if tc.idx {
				path, at = seg.idxPath, idxHeaderSize+4*idxEntrySize+tc.delta
			}
			flipByte(t, s.fs, path, at)
			_, err = s.Leaves(ctx, 2, 9)
			var ce *SegmentCorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *SegmentCorruptError", err, err)
			}
			if !strings.HasSuffix(ce.Path, tc.wantFile) || ce.Offset == 0 {
				t.Errorf("error names %s offset %d, want the %s file and an offset", ce.Path, ce.Offset, tc.wantFile)
			}
			if _, err := s.EventBySeq(ctx, 4); !errors.As(err, &ce) {
				t.Errorf("EventBySeq(4) = %v, want *SegmentCorruptError", err)
			}
			if _, err := s.Leaves(ctx, 5, 9); err != nil {
				t.Errorf("a range after the broken record fails too: %v", err)
			}
		})
	}
}

// flipByte flips the low bit of the byte at offset at of path.
func flipByte(t testing.TB, fs vfs.FS, path string, at int64) {
	t.Helper()
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReadLeaves compares the two ways to get a batch's events with
// their leaf and leaf hash: one EventBySeq per event, re-encoded and
// re-hashed (what the alerter did), against one Leaves call. Each op
// reads a 1,000-event batch of ~500-byte events from a store on disk.
func BenchmarkReadLeaves(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), WithGateway(testMSP, testGW))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, testEvents(0, n, benchEventSize)); err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("by-seq+re-encode+re-hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]gateway.Leaf, n)
			for seq := range uint64(n) {
				e, err := s.EventBySeq(ctx, seq)
				if err != nil {
					b.Fatal(err)
				}
				c, err := e.Canonical()
				if err != nil {
					b.Fatal(err)
				}
				out[seq] = gateway.Leaf{Event: e, Canonical: c}
				copy(out[seq].LeafHash[:], rfc6962.DefaultHasher.HashLeaf(c))
			}
		}
		report(b)
	})
	b.Run("Leaves", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Leaves(ctx, 0, n); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
