package store

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestIDFilterFalsePositives: an id added is always found (no false
// negatives, across the chain's growth), and at capacity the share of
// ids never added that the filter cannot rule out stays near
// idFilterFalsePositive, both for SHA-256 ids and for ids a caller chose
// in a pattern (counters).
func TestIDFilterFalsePositives(t *testing.T) {
	const n = idFilterMinCapacity
	for _, tc := range []struct {
		name string
		id   func(k uint64) [32]byte
	}{
		{"sha256", func(k uint64) [32]byte {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], k)
			return sha256.Sum256(b[:])
		}},
		{"counter", func(k uint64) [32]byte {
			var id [32]byte
			binary.BigEndian.PutUint64(id[24:], k)
			return id
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIDFilter(0)
			for k := range uint64(n) {
				id := tc.id(k)
				f.add(id[:])
			}
			if len(f.filters) != 1 {
				t.Fatalf("%d filters at capacity, want 1", len(f.filters))
			}
			fp := 0
			for k := uint64(n); k < 2*n; k++ {
				id := tc.id(k)
				if f.mayContain(id[:]) {
					fp++
				}
			}
			rate := float64(fp) / n
			t.Logf("false positives at capacity: %.4f", rate)
			if rate > 1.2*idFilterFalsePositive {
				t.Errorf("false-positive rate %.4f, want about %.2f", rate, idFilterFalsePositive)
			}
			// Past capacity the chain grows; nothing added is ever missed.
			for k := uint64(2 * n); k < 4*n; k++ {
				id := tc.id(k)
				f.add(id[:])
			}
			if len(f.filters) != 2 {
				t.Errorf("%d filters after 3 capacities' ids, want 2", len(f.filters))
			}
			for k := range uint64(4 * n) {
				if k >= n && k < 2*n {
					continue
				}
				if id := tc.id(k); !f.mayContain(id[:]) {
					t.Fatalf("id %d added but not found", k)
				}
			}
		})
	}
}
