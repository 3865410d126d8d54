package intel

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// index is the matcher's lookup structure: an open-addressing hash table
// (linear probing, at most half full) of 8-byte slots over an arena of
// records. A slot holds the upper 32 bits of its key's 64-bit hash (a
// fingerprint that rejects almost every other key without leaving the
// table) and the arena offset of the first record of its key; a record
// holds the validity bounds, the entry's handle, the offset of the next
// record with the same key (another sharer), and the key itself (a tag for
// the key's kind and its bytes), so a fingerprint hit is verified exactly
// from the record it already had to read for the validity check.
//
// Why not Go maps: a hit in a map of a million *Entry values costs a
// probe of the map's group, of the key's string bytes and of the entry —
// three dependent cache misses, each a page walk too on a virtual machine —
// and a million pointers for every garbage collection cycle to trace,
// which slows the whole gateway. Here a hit costs the slot and one record
// (usually one cache line), and the table and arena hold no pointers.
//
// An index is not safe for concurrent use; the matcher's lock guards it.
type index struct {
	slots   []uint64 // hash>>32<<32 | record offset; 0: empty
	used    int      // occupied slots
	arena   []byte   // records; offset 0 is never a record
	garbage int      // bytes of records no longer reachable
	// minGarbage is the garbage below which compact keeps the arena
	// (tests lower it).
	minGarbage int
	// maxArena is the arena's size limit: record offsets are 32 bits
	// (tests lower it).
	maxArena int
	// own holds the mappings behind slots and arena when they are big
	// enough to live outside the heap (see mapBig).
	own *mappings
}

// mappings are the index's arrays mapped outside the Go heap (nil: on the
// heap); the index releases each when it replaces it, and the matcher's
// cleanup releases the rest once the matcher is unreachable.
type mappings struct {
	slots, arena, filter []byte
}

// release unmaps every mapping left.
func (o *mappings) release() {
	unmapBig(o.slots)
	unmapBig(o.arena)
	unmapBig(o.filter)
	*o = mappings{}
}

// bigMin is the size from which an array is mapped (huge pages) rather
// than allocated on the heap: small matchers (tests, a few thousand
// indicators) do not need it.
const bigMin = 1 << 20

// words returns n zeroed uint64s, mapped when big, and the mapping (nil
// when on the heap).
func words(n int) ([]uint64, []byte) {
	if n*8 >= bigMin {
		if b := mapBig(n * 8); b != nil {
			return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n), b
		}
	}
	return make([]uint64, n), nil
}

// bytesOf returns a zeroed byte slice of length n and capacity c, mapped
// when big, and the mapping (nil when on the heap).
func bytesOf(n, c int) ([]byte, []byte) {
	if c >= bigMin {
		if b := mapBig(c); b != nil {
			return b[:n], b
		}
	}
	return make([]byte, n, c), nil
}

// Record layout (little endian) at an arena offset.
const (
	recFrom   = 0  // int64 Unix ns, 0: unbounded
	recUntil  = 8  // int64 Unix ns, 0: unbounded
	recHandle = 16 // uint32: the entry's handle
	recNext   = 20 // uint32: next record with the same key, 0: none
	recLen    = 24 // uint16: key length
	recTag    = 26 // byte: key kind
	recKey    = 28 // key bytes
)

// minSlots is the table's initial size (a power of two).
const minSlots = 1024

func newIndex() index {
	return index{slots: make([]uint64, minSlots), arena: make([]byte, 8, 4096), minGarbage: 1 << 20, maxArena: math.MaxUint32, own: &mappings{}}
}

func (x *index) recTagKey(off uint32) (byte, []byte) {
	n := uint32(binary.LittleEndian.Uint16(x.arena[off+recLen:]))
	return x.arena[off+recTag], x.arena[off+recKey : off+recKey+n]
}

func (x *index) next(off uint32) uint32 {
	return binary.LittleEndian.Uint32(x.arena[off+recNext:])
}

// setHandle changes the handle of the record at off (the matcher
// renumbered its entries).
func (x *index) setHandle(off, handle uint32) {
	binary.LittleEndian.PutUint32(x.arena[off+recHandle:], handle)
}

func (x *index) setNext(off, next uint32) {
	binary.LittleEndian.PutUint32(x.arena[off+recNext:], next)
}

// active reports whether the record at off is valid at now, and its handle.
func (x *index) active(off uint32, now int64) (uint32, bool) {
	r := x.arena[off : off+recLen]
	from := int64(binary.LittleEndian.Uint64(r[recFrom:]))
	until := int64(binary.LittleEndian.Uint64(r[recUntil:]))
	return binary.LittleEndian.Uint32(r[recHandle:]), (from == 0 || now >= from) && (until == 0 || now < until)
}

// find returns the offset of the first record of the key (tag, k) with
// hash h and its slot, or 0 and the empty slot where it would go.
func find[K string | []byte](x *index, h uint64, tag byte, k K) (uint32, uint64) {
	mask := uint64(len(x.slots) - 1)
	fp := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, i
		}
		if s>>32 == fp {
			off := uint32(s)
			r := x.arena[off:]
			n := int(binary.LittleEndian.Uint16(r[recLen:]))
			if r[recTag] == tag && n == len(k) && string(r[recKey:recKey+n]) == string(k) {
				return off, i
			}
		}
	}
}

// fits reports whether a record of a key of n bytes fits in the arena:
// offsets are 32 bits, so 4 GiB of records (some 40 M indicators of
// typical size, far beyond what one consortium shares; compaction
// reclaims removed ones).
func (x *index) fits(n int) bool {
	return len(x.arena)+recKey+n <= x.maxArena
}

// add appends a record for the key (tag, k) with hash h in front of the
// key's other records; hashOf recomputes a stored key's hash when the
// table grows.
func (x *index) add(h uint64, tag byte, k []byte, handle uint32, from, until int64, hashOf func(byte, []byte) uint64) uint32 {
	if len(k) > math.MaxUint16 {
		panic("intel: index key too long") // canonical values are at most 2,048 bytes
	}
	if 2*(x.used+1) > len(x.slots) {
		x.grow(hashOf)
	}
	if !x.fits(len(k)) {
		panic("intel: index arena full") // callers check fits first
	}
	head, slot := find(x, h, tag, k)
	off := uint32(len(x.arena))
	var hdr [recKey]byte
	binary.LittleEndian.PutUint64(hdr[recFrom:], uint64(from))
	binary.LittleEndian.PutUint64(hdr[recUntil:], uint64(until))
	binary.LittleEndian.PutUint32(hdr[recHandle:], handle)
	binary.LittleEndian.PutUint32(hdr[recNext:], head)
	binary.LittleEndian.PutUint16(hdr[recLen:], uint16(len(k)))
	hdr[recTag] = tag
	if need := len(x.arena) + recKey + len(k); need > cap(x.arena) {
		grown, mapped := bytesOf(len(x.arena), max(2*cap(x.arena), need))
		copy(grown, x.arena)
		unmapBig(x.own.arena)
		x.arena, x.own.arena = grown, mapped
	}
	x.arena = append(append(x.arena, hdr[:]...), k...)
	if head == 0 {
		x.used++
	}
	x.slots[slot] = h>>32<<32 | uint64(off)
	return off
}

// remove unlinks the record at off (hash h) from its key's list, freeing
// the slot when it was the last.
func (x *index) remove(h uint64, off uint32, hashOf func(byte, []byte) uint64) {
	tag, k := x.recTagKey(off)
	head, slot := find(x, h, tag, k)
	x.garbage += recKey + len(k)
	switch {
	case head == 0:
		return // not linked (cannot happen: the matcher removes what it added)
	case head == off:
		if nx := x.next(off); nx != 0 {
			x.slots[slot] = h>>32<<32 | uint64(nx)
		} else {
			x.deleteSlot(slot, hashOf)
		}
	default:
		for p := head; p != 0; p = x.next(p) {
			if x.next(p) == off {
				x.setNext(p, x.next(off))
				break
			}
		}
	}
}

// deleteSlot empties slot i and shifts later slots of the same probe run
// back, so lookups never need tombstones.
func (x *index) deleteSlot(i uint64, hashOf func(byte, []byte) uint64) {
	mask := uint64(len(x.slots) - 1)
	x.used--
	for {
		x.slots[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			s := x.slots[j]
			if s == 0 {
				return
			}
			home := hashOf(x.recTagKey(uint32(s))) & mask
			// s may move to i unless its home lies cyclically in (i, j].
			if i <= j && (home <= i || home > j) || i > j && home <= i && home > j {
				x.slots[i] = s
				i = j
				break
			}
		}
	}
}

// grow doubles the table, rehashing every key from its record.
func (x *index) grow(hashOf func(byte, []byte) uint64) {
	old, oldMapped := x.slots, x.own.slots
	x.slots, x.own.slots = words(2 * len(old))
	defer unmapBig(oldMapped)
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := hashOf(x.recTagKey(uint32(s))) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// compact copies the live records to a new arena once garbage is most of
// it, and reports whether it did; moved(handle, off) tells the caller each
// record's new offset.
func (x *index) compact(moved func(handle, off uint32)) bool {
	if x.garbage < x.minGarbage || 2*x.garbage < len(x.arena) {
		return false
	}
	arena, mapped := bytesOf(8, len(x.arena)-x.garbage+4096)
	for i, s := range x.slots {
		if s == 0 {
			continue
		}
		prev := uint32(0)
		for off := uint32(s); off != 0; off = x.next(off) {
			n := recKey + int(binary.LittleEndian.Uint16(x.arena[off+recLen:]))
			at := uint32(len(arena))
			arena = append(arena, x.arena[off:int(off)+n]...)
			binary.LittleEndian.PutUint32(arena[at+recNext:], 0)
			if prev == 0 {
				x.slots[i] = s>>32<<32 | uint64(at)
			} else {
				binary.LittleEndian.PutUint32(arena[prev+recNext:], at)
			}
			prev = at
			moved(binary.LittleEndian.Uint32(arena[at+recHandle:]), at)
		}
	}
	unmapBig(x.own.arena)
	x.arena, x.own.arena, x.garbage = arena, mapped, 0
	return true
}

// each calls fn with the tag and key of every key in the index.
func (x *index) each(fn func(tag byte, k []byte)) {
	for _, s := range x.slots {
		if s != 0 {
			fn(x.recTagKey(uint32(s)))
		}
	}
}
