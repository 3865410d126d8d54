package store

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// BenchmarkIDFilter is the id filter's cost per appended event: one
// mayContain (the duplicate check) and one add of a new id, into a
// filter already holding 3 million ids (a few days of a busy gateway;
// far larger than the CPU caches, as in production).
func BenchmarkIDFilter(b *testing.B) {
	const held = 3 << 20
	f := newIDFilter(0)
	var buf [8]byte
	id := func(k uint64) [32]byte {
		binary.BigEndian.PutUint64(buf[:], k)
		return sha256.Sum256(buf[:])
	}
	for k := range uint64(held) {
		x := id(k)
		f.add(x[:])
	}
	ids := make([][32]byte, 1<<16)
	for i := range ids {
		ids[i] = id(uint64(held + i))
	}
	hits := 0
	i := 0
	for b.Loop() {
		x := &ids[i&(len(ids)-1)]
		if f.mayContain(x[:]) {
			hits++
		}
		f.add(x[:])
		i++
	}
	_ = hits
}
