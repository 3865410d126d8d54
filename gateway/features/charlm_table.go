package features

import (
	"math"
	"math/bits"
)

// maxSmallOrder is the highest CharLM order gramTables hold: its n-grams
// pack into 32 bits.
const maxSmallOrder = 4

// gramTables are a CharLM of order up to maxSmallOrder as two flat
// open-addressing tables (n-grams and contexts) of packed slots, and the
// distinct log-probabilities they index. Scoring a DNS name looks up one
// n-gram per byte: in Go maps of uint64 to float64 (about 2 MB for the
// 72,000 n-grams of dns-dga, hashed with AES, a group's control word and
// then its slot read) those lookups were half of that model's
// extraction; here a lookup is a multiplication, usually one 8-byte load
// in a 1 MB table, and one load from the values (7,800 distinct ones,
// 62 KB), and successive lookups do not depend on each other, so their
// cache misses overlap.
type gramTables struct {
	grams, ctxs gramTable
	vals        []float64 // the distinct log-probabilities, by their bits
}

// gramTable maps packed keys (up to 32 bits) to indexes into
// gramTables.vals by linear probing, at most 60 % full, so a search
// ends at an empty slot (missing keys, half of a DGA name's n-grams, are
// as cheap as present ones).
type gramTable struct {
	// slots hold key<<32 | (index+1); 0 is an empty slot. len(slots) is
	// a power of two.
	slots []uint64
	shift uint // 64 - log2(len(slots)): hash's top bits index the slots
}

// gramHash spreads packed n-grams, whose bytes are mostly a few dozen
// letters and digits, over the table's bits (Fibonacci hashing: the top
// bits of the product).
const gramHash = 0x9E3779B97F4A7C15

// build fills the tables from a CharLM's maps, whose keys have at most
// maxSmallOrder bytes (compileCharLM checked their lengths).
func (t *gramTables) build(logp, context map[string]float64) {
	index := map[uint64]uint32{}
	valueIndex := func(v float64) uint32 {
		b := math.Float64bits(v)
		j, ok := index[b]
		if !ok {
			j = uint32(len(t.vals))
			index[b] = j
			t.vals = append(t.vals, v)
		}
		return j
	}
	t.grams.init(len(logp))
	for k, v := range logp {
		t.grams.put(uint32(pack(k)), valueIndex(v))
	}
	t.ctxs.init(len(context))
	for k, v := range context {
		t.ctxs.put(uint32(pack(k)), valueIndex(v))
	}
}

// init sizes t for n keys: the smallest power of two above n/0.6.
func (t *gramTable) init(n int) {
	size := 2
	for size*3 < n*5+5 {
		size *= 2
	}
	t.slots = make([]uint64, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
}

// put stores key's value index j (each key is put once: map keys are
// distinct and pack is one-to-one on keys of one length).
func (t *gramTable) put(key, j uint32) {
	mask := uint64(len(t.slots) - 1)
	for h := (uint64(key) * gramHash) >> t.shift; ; h = (h + 1) & mask {
		if t.slots[h] == 0 {
			t.slots[h] = uint64(key)<<32 | uint64(j+1)
			return
		}
	}
}

// get returns key's value index, ok false when key is absent.
func (t *gramTable) get(key uint32) (uint32, bool) {
	mask := uint64(len(t.slots) - 1)
	for h := (uint64(key) * gramHash) >> t.shift; ; h = (h + 1) & mask {
		s := t.slots[h&mask]
		if uint32(s) == 0 {
			return 0, false
		}
		if uint32(s>>32) == key {
			return uint32(s) - 1, true
		}
	}
}

// scoreSmall is score for a model in gramTables: the same lookups in
// the same order (n-gram, else its context, else unseen), so the same
// sums bit for bit (FuzzCharLMReference, TestCharLMServed).
func (c *charLM) scoreSmall(s string, dst []float64) {
	t := c.small
	mask := uint32(1)<<(8*uint(c.order-1)) - 1
	var ctx uint32
	for i := 0; i < c.order-1; i++ {
		ctx = ctx<<8 | '^'
	}
	var sum, worst float64
	for i := 0; i <= len(s); i++ {
		b := byte('$')
		if i < len(s) {
			b = s[i]
		}
		g := ctx<<8 | uint32(b)
		lp := c.unseen
		if j, ok := t.grams.get(g); ok {
			lp = t.vals[j]
		} else if j, ok := t.ctxs.get(ctx); ok {
			lp = t.vals[j]
		}
		sum -= lp
		worst = max(worst, -lp)
		ctx = g & mask
	}
	c.put(sum, worst, len(s), dst)
}
