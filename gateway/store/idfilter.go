package store

import (
	"hash/maphash"
	"math/bits"
)

// idFilter answers "certainly not stored" for almost every new event id,
// so the append path pays an exact lookup in the id index only for
// possible duplicates (a real retry, or a false positive at about
// idFilterFalsePositive). It is a chain of Bloom filters, each twice the
// capacity of the one before, so it grows with the log without a rebuild:
// an id may be stored if any filter says so. It is rebuilt from the id
// index at open and is owned by the appender goroutine.
type idFilter struct {
	filters []*blockedBloom
	inLast  uint // ids added to the last filter
	capLast uint // its capacity
}

const (
	// idFilterFalsePositive is each filter's false-positive rate at
	// capacity (measured: TestIDFilterFalsePositives), with
	// idFilterBitsPerID bits (1.25 bytes) per id and idFilterHashes bits
	// set per id.
	idFilterFalsePositive = 0.01
	idFilterBitsPerID     = 10
	idFilterHashes        = 7
	// idFilterMinCapacity sizes the first filter (1.25 MiB).
	idFilterMinCapacity = 1 << 20
)

// newIDFilter returns an empty filter sized for at least expected ids.
func newIDFilter(expected uint64) *idFilter {
	f := &idFilter{}
	f.grow(uint(max(2*expected, idFilterMinCapacity)))
	return f
}

func (f *idFilter) grow(capacity uint) {
	f.filters = append(f.filters, newBlockedBloom(capacity))
	f.inLast, f.capLast = 0, capacity
}

// mayContain reports whether id may have been added; false is certain.
func (f *idFilter) mayContain(id []byte) bool {
	h := maphash.Bytes(idFilterSeed, id)
	for i := len(f.filters) - 1; i >= 0; i-- {
		if f.filters[i].test(h) {
			return true
		}
	}
	return false
}

// add records id, starting a filter of twice the capacity when the last
// one is full.
func (f *idFilter) add(id []byte) {
	if f.inLast >= f.capLast {
		f.grow(2 * f.capLast)
	}
	f.filters[len(f.filters)-1].add(maphash.Bytes(idFilterSeed, id))
	f.inLast++
}

// idFilterSeed seeds the ids' hash: per process, as the filters are
// rebuilt at open. Hashing (rather than using a SHA-256 id's bytes as
// they are) keeps ids a caller chose, such as 0…01, 0…02, spread out.
var idFilterSeed = maphash.MakeSeed()

// blockedBloom is a Bloom filter whose idFilterHashes bits for a key all
// lie in one 512-bit block, a cache line: a test or an add costs one
// cache miss, where a classic Bloom filter (bits-and-blooms/bloom, used
// before) cost one per bit, and the filters of a busy gateway are far
// larger than the CPU caches (the filter's add and test were about
// 300-500 ns per appended event against a filter of 3 million ids,
// BenchmarkIDFilter). Packing the bits in a block raises the
// false-positive rate a little at the same size, which the bits per id
// make up for. It is written here rather than taken from a library
// because the blocked Bloom filter libraries we know of (such as
// greatroar/blobloom) are not among the modules this project can fetch,
// and the filter is some forty lines, its rate checked by
// TestIDFilterFalsePositives.
type blockedBloom struct {
	blocks [][8]uint64
}

func newBlockedBloom(capacity uint) *blockedBloom {
	n := (uint64(capacity)*idFilterBitsPerID + 511) / 512
	return &blockedBloom{blocks: make([][8]uint64, max(n, 1))}
}

// block returns the block of the key hashed to h and the bits in it
// (idFilterHashes positions of 9 bits each from a remix of h, which the
// block index does not use).
func (b *blockedBloom) block(h uint64) (*[8]uint64, uint64) {
	hi, _ := bits.Mul64(h, uint64(len(b.blocks)))
	return &b.blocks[hi], h*0x9e3779b97f4a7c15 ^ h>>29
}

func (b *blockedBloom) add(h uint64) {
	blk, pos := b.block(h)
	for range idFilterHashes {
		blk[pos>>6&7] |= 1 << (pos & 63)
		pos >>= 9
	}
}

func (b *blockedBloom) test(h uint64) bool {
	blk, pos := b.block(h)
	for range idFilterHashes {
		if blk[pos>>6&7]&(1<<(pos&63)) == 0 {
			return false
		}
		pos >>= 9
	}
	return true
}
