package store

import (
	"github.com/bits-and-blooms/bloom/v3"
)

// idFilter answers "certainly not stored" for almost every new event id,
// so the append path pays an exact lookup in the id index only for
// possible duplicates (a real retry, or a false positive at
// idFilterFalsePositive). It is a chain of Bloom filters, each twice the
// capacity of the one before, so it grows with the log without a rebuild:
// an id may be stored if any filter says so. It is rebuilt from the id
// index at open and is owned by the appender goroutine.
//
// github.com/bits-and-blooms/bloom/v3 is the common Go Bloom filter
// (used by Milvus, Dgraph and others): murmur3 double hashing over the id
// bytes, sized from the expected count and false-positive rate.
type idFilter struct {
	filters []*bloom.BloomFilter
	inLast  uint // ids added to the last filter
	capLast uint // its capacity at idFilterFalsePositive
}

const (
	// idFilterFalsePositive is each filter's false-positive rate at
	// capacity: about 9.6 bits (1.2 bytes) per id.
	idFilterFalsePositive = 0.01
	// idFilterMinCapacity sizes the first filter (about 1.2 MiB).
	idFilterMinCapacity = 1 << 20
)

// newIDFilter returns an empty filter sized for at least expected ids.
func newIDFilter(expected uint64) *idFilter {
	f := &idFilter{}
	f.grow(uint(max(2*expected, idFilterMinCapacity)))
	return f
}

func (f *idFilter) grow(capacity uint) {
	f.filters = append(f.filters, bloom.NewWithEstimates(capacity, idFilterFalsePositive))
	f.inLast, f.capLast = 0, capacity
}

// mayContain reports whether id may have been added; false is certain.
func (f *idFilter) mayContain(id []byte) bool {
	for i := len(f.filters) - 1; i >= 0; i-- {
		if f.filters[i].Test(id) {
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
	f.filters[len(f.filters)-1].Add(id)
	f.inLast++
}
