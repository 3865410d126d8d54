package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

const (
	testMSP = "Org1MSP"
	testGW  = "gw-1"
)

// testEvent returns a distinct event of roughly size bytes of canonical JSON.
func testEvent(i, size int) gateway.Event {
	classes := []gateway.Class{gateway.ClassFlow, gateway.ClassDNS, gateway.ClassAuth, gateway.ClassProcess}
	pad := size - 360
	if pad < 0 {
		pad = 0
	}
	raw := fmt.Sprintf("<34>1 2026-11-25T10:00:00Z host%d sshd 4242 - - Failed password for root from 10.0.%d.%d port 22 %s", i%50, (i/256)%256, i%256, strings.Repeat("x", pad))
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return gateway.Event{
		Received:   t0.Add(time.Duration(i) * time.Millisecond),
		Time:       t0.Add(time.Duration(i) * time.Microsecond),
		Source:     "syslog",
		Sourcetype: "linux:auth",
		Host:       fmt.Sprintf("host%d", i%50),
		Class:      classes[i%len(classes)],
		Fields:     map[string]any{"src_ip": fmt.Sprintf("10.0.%d.%d", (i/256)%256, i%256), "dst_port": 22, "outcome": "failure"},
		Raw:        []byte(raw),
		Labels:     map[string]string{"env": "test"},
	}
}

func testEvents(from, n, size int) []gateway.Event {
	out := make([]gateway.Event, n)
	for i := range out {
		out[i] = testEvent(from+i, size)
	}
	return out
}

type testStore struct {
	*Store
	fs  vfs.FS
	dir string
}

// openTest opens a store on an in-memory FS (unless WithFS is among opts,
// which then wins, being applied last).
func openTest(t testing.TB, fs vfs.FS, opts ...Option) *testStore {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	all := append([]Option{WithGateway(testMSP, testGW), WithFS(fs)}, opts...)
	s, err := Open(context.Background(), "db", all...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return &testStore{Store: s, fs: fs, dir: "db"}
}

func mustAppend(t testing.TB, s *Store, events []gateway.Event) []gateway.Event {
	t.Helper()
	got, err := s.Append(context.Background(), events)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return got
}

// refLeafHashes returns the leaf hashes of the stored log, read back event
// by event and re-encoded, an independent path from the appender's.
func refLeafHashes(t testing.TB, s *Store) [][]byte {
	t.Helper()
	n := s.Size()
	out := make([][]byte, n)
	for seq := range n {
		e, err := s.EventBySeq(context.Background(), seq)
		if err != nil {
			t.Fatalf("EventBySeq(%d): %v", seq, err)
		}
		c, err := e.Canonical()
		if err != nil {
			t.Fatalf("Canonical(%d): %v", seq, err)
		}
		out[seq] = rfc6962.DefaultHasher.HashLeaf(c)
	}
	return out
}

// refTree computes RFC 6962's MTH over leaf hashes from the RFC's recursive
// definition, so it shares no code with the store; hashes of perfect
// subtrees are memoised so roots of many prefixes cost O(n) overall.
type refTree struct {
	leaves  [][]byte
	perfect map[[2]int][]byte
}

func newRefTree(leaves [][]byte) *refTree {
	return &refTree{leaves: leaves, perfect: map[[2]int][]byte{}}
}

func (r *refTree) root(size uint64) []byte { return r.mth(0, int(size)) }

func (r *refTree) mth(lo, hi int) []byte {
	h := rfc6962.DefaultHasher
	n := hi - lo
	switch n {
	case 0:
		return h.EmptyRoot()
	case 1:
		return r.leaves[lo]
	}
	isPerfect := n&(n-1) == 0
	if isPerfect {
		if v, ok := r.perfect[[2]int{lo, n}]; ok {
			return v
		}
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	v := h.HashChildren(r.mth(lo, lo+k), r.mth(lo+k, hi))
	if isPerfect {
		r.perfect[[2]int{lo, n}] = v
	}
	return v
}

// verifyLog checks a store's whole log: every event decodes and re-encodes
// to its leaf, the root at every size in sizes matches the reference, and
// inclusion and consistency proofs verify with the library's verifiers.
func verifyLog(t testing.TB, s *Store, leaves [][]byte, sizes []uint64) {
	t.Helper()
	ctx := context.Background()
	h := rfc6962.DefaultHasher
	ref := newRefTree(leaves)
	for _, size := range sizes {
		want := ref.root(size)
		got, err := s.Root(ctx, size)
		if err != nil {
			t.Fatalf("Root(%d): %v", size, err)
		}
		if hex.EncodeToString(got) != hex.EncodeToString(want) {
			t.Fatalf("Root(%d) = %x, want %x", size, got, want)
		}
		for _, idx := range sampleIndices(size) {
			p, err := s.InclusionProof(ctx, idx, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", idx, size, err)
			}
			hs, err := merkle.DecodeHashes("proof", p.Hashes)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(h, idx, size, leaves[idx], hs, want); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", idx, size, err)
			}
		}
		for _, size1 := range sampleIndices(size + 1) {
			p, err := s.ConsistencyProof(ctx, size1, size)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", size1, size, err)
			}
			hs, err := merkle.DecodeHashes("proof", p.Hashes)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(h, size1, size, hs, ref.root(size1), want); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", size1, size, err)
			}
		}
	}
}

// sampleIndices returns every index below n when n is small, else the edges
// and a spread of interior indices.
func sampleIndices(n uint64) []uint64 {
	if raceEnabled && n > 4 {
		return []uint64{0, n / 2, n - 1}
	}
	if n <= 40 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = uint64(i)
		}
		return out
	}
	out := []uint64{0, 1, n / 3, n / 2, n - 2, n - 1}
	for p := uint64(2); p < n; p *= 2 {
		out = append(out, p-1, p)
	}
	return out
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

// rawLeaf returns the checked leaf of the segment record at seq.
func rawLeaf(t testing.TB, s *Store, seq uint64) []byte {
	t.Helper()
	r, err := s.log.read(seq)
	if err != nil {
		t.Fatalf("event record %d: %v", seq, err)
	}
	return r.leaf
}
