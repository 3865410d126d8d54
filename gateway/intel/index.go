package intel

import (
	"encoding/binary"
	"math"
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
	return index{slots: make([]uint64, minSlots), arena: make([]byte, 8, 4096), minGarbage: 1 << 20}
}

func (x *index) recTagKey(off uint32) (byte, []byte) {
	n := uint32(binary.LittleEndian.Uint16(x.arena[off+recLen:]))
	return x.arena[off+recTag], x.arena[off+recKey : off+recKey+n]
}

func (x *index) next(off uint32) uint32 {
	return binary.LittleEndian.Uint32(x.arena[off+recNext:])
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
	if len(x.arena)+recKey+len(k) > math.MaxUint32 {
		// Offsets are 32 bits: some 40 M indicators of typical size, far
		// beyond what one consortium shares (compaction reclaims revoked ones).
		panic("intel: index arena exceeds 4 GiB")
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
		grown := make([]byte, len(x.arena), max(2*cap(x.arena), need))
		copy(grown, x.arena)
		x.arena = grown
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
	old := x.slots
	x.slots = make([]uint64, 2*len(old))
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
	arena := make([]byte, 8, len(x.arena)-x.garbage+4096)
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
	x.arena, x.garbage = arena, 0
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
