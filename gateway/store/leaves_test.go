package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/rfc6962"

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

// TestLeavesCorrupt: a record that fails its checksum, or a missing event
// record or leaf node below the tree size, is a *CorruptRecordError.
func TestLeavesCorrupt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(db *pebble.DB) error
	}{
		{"flipped event byte", func(db *pebble.DB) error {
			k := seqKey(prefixEvent, 4)
			v, c, err := db.Get(k)
			if err != nil {
				return err
			}
			bad := bytes.Clone(v)
			c.Close()
			bad[len(bad)-3] ^= 1
			return db.Set(k, bad, pebble.Sync)
		}},
		{"missing event record", func(db *pebble.DB) error { return db.Delete(seqKey(prefixEvent, 4), pebble.Sync) }},
		{"missing leaf node", func(db *pebble.DB) error {
			var kb [10]byte
			return db.Delete(nodeKey(&kb, 0, 4), pebble.Sync)
		}},
		{"short leaf node", func(db *pebble.DB) error {
			var kb [10]byte
			return db.Set(nodeKey(&kb, 0, 4), []byte{1, 2, 3}, pebble.Sync)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, nil)
			defer s.Close()
			mustAppend(t, s.Store, testEvents(0, 9, 200))
			if err := tc.damage(s.db); err != nil {
				t.Fatal(err)
			}
			_, err := s.Leaves(ctx, 2, 9)
			var ce *CorruptRecordError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *CorruptRecordError", err, err)
			}
			if _, err := s.Leaves(ctx, 5, 9); err != nil {
				t.Errorf("a range after the broken record fails too: %v", err)
			}
		})
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
