package intel

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Entry is one indicator the matcher holds: the public record's fields an
// alert and a sighting need, and the canonical value it matches on. Two
// organisations sharing the same value are two entries (two ids).
type Entry struct {
	ID         string
	Hash       string
	Type       string
	Value      string
	TLP        string
	SharedBy   string
	Confidence int
	Techniques []string
	// ValidFrom and ValidUntil bound when the entry matches (Unix
	// nanoseconds; 0 means unbounded).
	ValidFrom  int64
	ValidUntil int64

	handle uint32 // its place in the matcher's index, set by Put
}

// Active reports whether e matches at now (Unix nanoseconds).
func (e *Entry) Active(now int64) bool {
	return (e.ValidFrom == 0 || now >= e.ValidFrom) && (e.ValidUntil == 0 || now < e.ValidUntil)
}

// EntryOf builds the matcher entry of an indicator record that carries
// its value (a read the caller's organisation may make). ok is false when
// the record has no value or the value is not canonical for its type.
func EntryOf(ind wire.Indicator) (*Entry, bool) {
	if ind.Value == "" {
		return nil, false
	}
	canon, err := wire.CanonicalIndicator(ind.Type, ind.Value)
	if err != nil || canon != ind.Value {
		return nil, false
	}
	e := &Entry{
		ID: ind.ID, Hash: ind.Hash, Type: ind.Type, Value: canon, TLP: ind.TLP, SharedBy: ind.SharedBy,
		Confidence: ind.Confidence, Techniques: slices.Clone(ind.Techniques),
	}
	if !ind.ValidFrom.IsZero() {
		e.ValidFrom = ind.ValidFrom.UnixNano()
	}
	if !ind.ValidUntil.IsZero() {
		e.ValidUntil = ind.ValidUntil.UnixNano()
	}
	return e, true
}

// Matcher holds the indicators this organisation may read in one
// structure built for lookups at ingest speed (see index): every key —
// an IPv4 address as its 4 bytes, an IPv6 address as its 16, a CIDR
// prefix as its masked address under a tag per prefix length, any other
// type as its canonical value under a tag per type — is one slot of an
// open-addressing table whose record carries the validity bounds and the
// key for exact verification. An address costs one probe, plus one per
// prefix length in use (a handful in practice); a domain one per parent
// domain too (a.b.evil.example matches an indicator evil.example).
//
// In front of the table a 2 MiB bit set of every key put makes a miss
// (what almost every observable is) usually one cached bit test.
//
// A hit reads the slot, the record and the entry, each at a random place
// in tens of MB: three cache misses that no layout avoids, so the layout
// makes each one cheap. The entries are stored by value in one array
// indexed by the record's handle (no pointer to load first); the table,
// the arena, the bit set and the entry array sit on huge pages (see
// mapBig, adviseHuge), so those misses do not also miss the TLB; and
// [View.LookupAll] reads them in passes over a group of lookups, so the
// processor waits for many misses at once.
//
// Reads take a read lock once per batch ([Matcher.Scan]), so ingest-side
// lookups do not contend with each other; the sync goroutine's updates
// take the write lock briefly per indicator (growing the table or the
// entry array, or compacting the arena or the entries, each rare, is one
// pass over it: tens of ms at a million indicators) and are seen by the
// next Scan, so a revocation stops matching well within a second. It is
// safe for concurrent use.
type Matcher struct {
	mu   sync.RWMutex
	byID map[string]*Entry

	idx    index
	ents   []Entry  // handle → entry; removed ones stay until compactEnts
	recOff []uint32 // handle → offset of its record in idx (0: removed)
	// minDead is the count of removed entries below which compactEnts
	// is not worth its pass (tests lower it).
	minDead int
	cnt4    [33]int // CIDR indicators per IPv4 prefix length
	cnt6    [129]int
	len4    []int // prefix lengths present in cnt4, longest first
	len6    []int

	// filter is a one-hash bit set over every key put (see filterBits):
	// a lookup whose bit is clear is a miss without touching the table.
	// Removal leaves bits set (they only cost a probe) until the arena's
	// compaction rebuilds it.
	filter []uint64
	seed   maphash.Seed
	ipSeed uint64 // keys address hashes, so shared values cannot be chosen to collide
}

// filterBits sizes the pre-filter: 2^24 bits (2 MiB) keep it in the
// processor's cache, and with 1,000,000 indicators about 6 % of misses
// still probe the table.
const filterBits = 1 << 24

// Key tags: the kind of a key in the index, so equal bytes of different
// kinds (an address and a /32 prefix) never match each other.
const (
	tagIPv4  = 1
	tagIPv6  = 2
	tagCIDR4 = 8   // + prefix length (0–32)
	tagCIDR6 = 48  // + prefix length (0–128)
	tagStr   = 200 // + the type's index in wire.IndicatorTypes
)

// strTags maps each string-keyed indicator type to its tag.
var strTags = func() map[string]byte {
	t := map[string]byte{}
	for i, typ := range wire.IndicatorTypes {
		switch typ {
		case wire.IndicatorIPv4, wire.IndicatorIPv6, wire.IndicatorCIDR:
		default:
			t[typ] = byte(tagStr + i)
		}
	}
	return t
}()

// hashTag is strTags for the types looked up as lower-cased values
// (hashes, JA3/JA4), 0 for any other kind: a switch, as a lookup per
// observable costs less than a map access (which hashes the kind).
func hashTag(kind string) byte {
	switch kind {
	case wire.IndicatorSHA256:
		return tagSHA256
	case wire.IndicatorSHA1:
		return tagSHA1
	case wire.IndicatorMD5:
		return tagMD5
	case wire.IndicatorJA3:
		return tagJA3
	case wire.IndicatorJA4:
		return tagJA4
	}
	return 0
}

var (
	tagSHA256    = strTags[wire.IndicatorSHA256]
	tagSHA1      = strTags[wire.IndicatorSHA1]
	tagMD5       = strTags[wire.IndicatorMD5]
	tagJA3       = strTags[wire.IndicatorJA3]
	tagJA4       = strTags[wire.IndicatorJA4]
	tagDomain    = strTags[wire.IndicatorDomain]
	tagURL       = strTags[wire.IndicatorURL]
	tagUserAgent = strTags[wire.IndicatorUserAgent]
	tagEmail     = strTags[wire.IndicatorEmail]
)

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (m *Matcher) mark(h uint64) {
	i := h >> 20 & (filterBits - 1)
	m.filter[i>>6] |= 1 << (i & 63)
}

func (m *Matcher) maybe(h uint64) bool {
	i := h >> 20 & (filterBits - 1)
	return m.filter[i>>6]&(1<<(i&63)) != 0
}

func (m *Matcher) h4(k uint32, tag byte) uint64 {
	return mix64(uint64(k) | uint64(tag)<<32 ^ m.ipSeed)
}

func (m *Matcher) h6(a *[16]byte, tag byte) uint64 {
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	return mix64(mix64(hi^m.ipSeed) ^ lo + uint64(tag))
}

func (m *Matcher) hb(b []byte, tag byte) uint64 {
	return maphash.Bytes(m.seed, b) ^ mix64(uint64(tag))
}

// hashOf is the hash of a stored key (tag, k), as the lookups compute it.
func (m *Matcher) hashOf(tag byte, k []byte) uint64 {
	switch {
	case tag == tagIPv4 || tag >= tagCIDR4 && tag <= tagCIDR4+32:
		return m.h4(binary.BigEndian.Uint32(k), tag)
	case tag == tagIPv6 || tag >= tagCIDR6 && tag <= tagCIDR6+128:
		return m.h6((*[16]byte)(k), tag)
	default:
		return m.hb(k, tag)
	}
}

// NewMatcher returns an empty matcher.
func NewMatcher() *Matcher {
	seed := maphash.MakeSeed()
	m := &Matcher{
		byID:    map[string]*Entry{},
		idx:     newIndex(),
		minDead: 4096,
		seed:    seed,
		ipSeed:  maphash.String(seed, "ip"),
	}
	m.filter, m.idx.own.filter = words(filterBits / 64)
	runtime.AddCleanup(m, (*mappings).release, m.idx.own)
	return m
}

// Len returns how many indicators the matcher holds.
func (m *Matcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byID)
}

// Get returns the entry with id.
func (m *Matcher) Get(id string) (*Entry, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[id]
	return e, ok
}

// key returns the index key of an entry and its hash; ok is false when
// its value does not parse for its type.
func (m *Matcher) key(e *Entry) (tag byte, k []byte, h uint64, bits int, ok bool) {
	switch e.Type {
	case wire.IndicatorIPv4, wire.IndicatorIPv6:
		a, err := netip.ParseAddr(e.Value)
		if err != nil {
			return 0, nil, 0, 0, false
		}
		if a.Is4() {
			b := a.As4()
			return tagIPv4, b[:], m.h4(v4key(a), tagIPv4), 0, true
		}
		b := a.As16()
		return tagIPv6, b[:], m.h6(&b, tagIPv6), 0, true
	case wire.IndicatorCIDR:
		p, err := netip.ParsePrefix(e.Value)
		if err != nil {
			return 0, nil, 0, 0, false
		}
		p = p.Masked()
		bits := p.Bits()
		if p.Addr().Is4() {
			b := p.Addr().As4()
			tag := byte(tagCIDR4 + bits)
			return tag, b[:], m.h4(v4key(p.Addr()), tag), bits, true
		}
		b := p.Addr().As16()
		tag := byte(tagCIDR6 + bits)
		return tag, b[:], m.h6(&b, tag), bits, true
	default:
		tag, ok := strTags[e.Type]
		if !ok || len(e.Value) > wire.MaxIndicatorValueLen {
			return 0, nil, 0, 0, false
		}
		k := []byte(e.Value)
		return tag, k, m.hb(k, tag), 0, true
	}
}

// Put adds a copy of e, replacing the entry with the same id (a
// re-share). e must hold a canonical value (see [EntryOf]); an entry whose
// value does not parse for its type is ignored and Put reports false, as
// it does when the index is full (4 GiB of records, see index.fits;
// the entry it would replace then stays).
// The entries the matcher hands out ([Matcher.Get], lookups) are its
// copies, never changed once stored: a caller may keep one after it was
// removed or replaced.
func (m *Matcher) Put(e *Entry) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	tag, k, h, bits, ok := m.key(e)
	if !ok {
		return false
	}
	if !m.idx.fits(len(k)) {
		return false
	}
	m.removeLocked(e.ID)
	if len(m.ents) == cap(m.ents) {
		m.growEnts()
	}
	handle := uint32(len(m.ents))
	m.ents = append(m.ents, *e)
	m.recOff = append(m.recOff, 0)
	e = &m.ents[handle]
	e.handle = handle
	m.recOff[handle] = m.idx.add(h, tag, k, handle, e.ValidFrom, e.ValidUntil, m.hashOf)
	m.mark(h)
	switch {
	case e.Type != wire.IndicatorCIDR:
	case tag < tagCIDR6:
		if m.cnt4[bits]++; m.cnt4[bits] == 1 {
			m.len4 = insertLen(m.len4, bits)
		}
	default:
		if m.cnt6[bits]++; m.cnt6[bits] == 1 {
			m.len6 = insertLen(m.len6, bits)
		}
	}
	m.byID[e.ID] = e
	return true
}

// Remove drops the entry with id (revoked, purged); it reports whether
// there was one.
func (m *Matcher) Remove(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeLocked(id)
}

func (m *Matcher) removeLocked(id string) bool {
	e, ok := m.byID[id]
	if !ok {
		return false
	}
	delete(m.byID, id)
	off := m.recOff[e.handle]
	tag, k := m.idx.recTagKey(off)
	m.idx.remove(m.hashOf(tag, k), off, m.hashOf)
	m.recOff[e.handle] = 0 // dead until compactEnts drops it
	switch {
	case e.Type != wire.IndicatorCIDR:
	case tag < tagCIDR6:
		bits := int(tag - tagCIDR4)
		if m.cnt4[bits]--; m.cnt4[bits] == 0 {
			m.len4 = slices.DeleteFunc(m.len4, func(b int) bool { return b == bits })
		}
	default:
		bits := int(tag - tagCIDR6)
		if m.cnt6[bits]--; m.cnt6[bits] == 0 {
			m.len6 = slices.DeleteFunc(m.len6, func(b int) bool { return b == bits })
		}
	}
	if m.idx.compact(func(handle, off uint32) { m.recOff[handle] = off }) {
		// Removed keys left their filter bits set; with the arena mostly
		// garbage, so is the filter: rebuild it from the live keys.
		clear(m.filter)
		m.idx.each(func(tag byte, k []byte) { m.mark(m.hashOf(tag, k)) })
	}
	if dead := len(m.ents) - len(m.byID); dead >= m.minDead && 2*dead > len(m.ents) {
		m.compactEnts()
	}
	return true
}

// growEnts moves the entries to an array of twice the room. Entries are
// stored by value in one array, so a hit finds its entry from the handle
// in its record without reading a pointer first (a cache miss saved), and
// the array can ask for huge pages (see adviseHuge). The old array is
// left as it was for whoever still holds one of its entries.
func (m *Matcher) growEnts() {
	grown := make([]Entry, len(m.ents), max(2*cap(m.ents), 64))
	adviseHuge(grown)
	copy(grown, m.ents)
	m.ents = grown
	for id, e := range m.byID {
		m.byID[id] = &m.ents[e.handle]
	}
}

// compactEnts drops the removed entries from the entry array once they
// are most of it, renumbering the live ones (in their records too).
func (m *Matcher) compactEnts() {
	live := make([]Entry, 0, max(2*len(m.byID), 64))
	adviseHuge(live)
	recOff := make([]uint32, 0, cap(live))
	for h := range m.ents {
		off := m.recOff[h]
		if off == 0 {
			continue
		}
		handle := uint32(len(live))
		live = append(live, m.ents[h])
		live[handle].handle = handle
		recOff = append(recOff, off)
		m.idx.setHandle(off, handle)
	}
	m.ents, m.recOff = live, recOff
	for id := range m.byID {
		delete(m.byID, id) // refilled below: same ids, new places
	}
	for h := range m.ents {
		m.byID[m.ents[h].ID] = &m.ents[h]
	}
}

// insertLen adds bits to the list of prefix lengths, longest first, so
// the most specific prefix is reported first.
func insertLen(l []int, bits int) []int {
	i, _ := slices.BinarySearchFunc(l, bits, func(a, b int) int { return b - a })
	return slices.Insert(l, i, bits)
}

func v4key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// Observable is one value an event carries that indicators may name: its
// kind (an indicator type, or [ObservableIP] for an address that IPv4,
// IPv6 and CIDR indicators all match), the value as the event had it and
// the field it came from.
type Observable struct {
	Kind  string
	Value string
	Field string
}

// ObservableIP is the kind of an IP address observable.
const ObservableIP = "ip"

// View is a read-locked view of the matcher for a batch of lookups; it is
// valid only inside the function given to [Matcher.Scan]. Its buffers are
// reused from one lookup to the next, so lookups allocate nothing.
type View struct {
	m      *Matcher
	now    int64
	one    [1]Observable
	keys   []byte  // the keys of the probes below
	probes []probe // the index probes of the observables being looked up
	sink   uint64
}

// probe is one key an observable is looked up by: an address, a masked
// address per prefix length in use, a domain and each parent, a value.
type probe struct {
	h    uint64
	slot uint64 // the slot at the key's home, read ahead
	at   uint32 // key's offset in View.keys
	n    uint32 // key's length
	tag  byte
	obs  int32 // the observable's index
}

// probeGroup is how many probes LookupAll resolves together: enough
// independent memory reads for the processor to overlap their cache
// misses, few enough that the group's slots and records stay cached
// until they are used.
const probeGroup = 64

// Scan runs fn with a view on which lookups see the indicators active at
// now, holding the read lock once for the whole batch.
func (m *Matcher) Scan(now time.Time, fn func(v *View)) {
	v := viewPool.Get().(*View)
	v.m, v.now = m, now.UnixNano()
	defer func() {
		v.m, v.one[0] = nil, Observable{}
		viewPool.Put(v)
	}()
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(v)
}

// viewPool keeps views' buffers from one Scan to the next.
var viewPool = sync.Pool{New: func() any { return new(View) }}

// Lookup calls hit for every active indicator o matches (most specific
// first for addresses and domains) and returns how many it matched. The
// observed value is canonicalised the way the indicator type's values are
// (see wire.CanonicalIndicator); a value that is not a valid instance of
// its kind matches nothing. It is [View.LookupAll] of one observable;
// prefer LookupAll for many.
func (v *View) Lookup(o Observable, hit func(*Entry)) int {
	v.one[0] = o
	if hit == nil {
		return v.LookupAll(v.one[:], nil)
	}
	return v.LookupAll(v.one[:], func(_ int, e *Entry) { hit(e) })
}

// LookupAll looks up every observable of obs as [View.Lookup] does,
// calling hit(i, e) for each active indicator e that obs[i] matches, in
// the order of obs (and most specific first within one), and returns how
// many matches there were. It allocates nothing (but for the rare URL or
// user agent that must be canonicalised first).
//
// Why batches: a hit reads a table slot and a record that are almost
// never in the processor's cache (a million indicators are tens of MB).
// Resolving a group of observables in passes — every filter bit, then
// every slot, then every record, then the verification — lets the
// processor overlap those cache misses instead of waiting for each in
// turn.
func (v *View) LookupAll(obs []Observable, hit func(i int, e *Entry)) int {
	n := 0
	for start := 0; start < len(obs); {
		v.keys, v.probes = v.keys[:0], v.probes[:0]
		end := start
		for ; end < len(obs) && len(v.probes) < probeGroup; end++ {
			v.addProbes(int32(end), obs[end])
		}
		n += v.resolve(hit)
		start = end
	}
	return n
}

// addKey appends a probe of key k (already in v.keys from at).
func (v *View) addProbe(i int32, tag byte, h uint64, at int) {
	v.probes = append(v.probes, probe{h: h, at: uint32(at), n: uint32(len(v.keys) - at), tag: tag, obs: i})
}

func (v *View) add4(i int32, tag byte, k uint32) {
	at := len(v.keys)
	v.keys = binary.BigEndian.AppendUint32(v.keys, k)
	v.addProbe(i, tag, v.m.h4(k, tag), at)
}

func (v *View) add16(i int32, tag byte, k *[16]byte) {
	at := len(v.keys)
	v.keys = append(v.keys, k[:]...)
	v.addProbe(i, tag, v.m.h6(k, tag), at)
}

// addStr adds a probe of s, lower-cased first when lower is set.
func (v *View) addStr(i int32, tag byte, s string, lower bool) {
	at := len(v.keys)
	v.keys = append(v.keys, s...)
	if lower {
		lowerASCII(v.keys[at:])
	}
	v.addProbe(i, tag, v.m.hb(v.keys[at:], tag), at)
}

// addProbes adds the probes observable o (the i-th) is looked up by.
func (v *View) addProbes(i int32, o Observable) {
	m := v.m
	switch o.Kind {
	case ObservableIP, wire.IndicatorIPv4, wire.IndicatorIPv6:
		k, ok := parseIPv4(o.Value)
		if !ok {
			a, err := netip.ParseAddr(o.Value)
			if err != nil {
				return
			}
			if a = a.Unmap(); !a.Is4() {
				a = a.WithZone("")
				k := a.As16()
				v.add16(i, tagIPv6, &k)
				for _, bits := range m.len6 {
					p, _ := a.Prefix(bits)
					pk := p.Addr().As16()
					v.add16(i, byte(tagCIDR6+bits), &pk)
				}
				return
			}
			k = v4key(a)
		}
		v.add4(i, tagIPv4, k)
		for _, bits := range m.len4 {
			v.add4(i, byte(tagCIDR4+bits), k&mask4(bits))
		}
	case wire.IndicatorDomain:
		d := strings.TrimSuffix(o.Value, ".")
		at := len(v.keys)
		v.keys = append(v.keys, d...)
		lowerASCII(v.keys[at:])
		// j: the suffix probed; dot: the first dot in it (each dot is
		// searched for once).
		for j, dot := at, bytes.IndexByte(v.keys[at:], '.'); ; {
			v.probes = append(v.probes, probe{h: m.hb(v.keys[j:], tagDomain), at: uint32(j), n: uint32(len(v.keys) - j), tag: tagDomain, obs: i})
			if dot < 0 {
				break
			}
			j += dot + 1
			if dot = bytes.IndexByte(v.keys[j:], '.'); dot < 0 {
				break // a bare top-level label is never an indicator
			}
		}
	case wire.IndicatorURL:
		v.addStr(i, tagURL, o.Value, false) // already canonical: the common case for logged URLs
		if maybeNonCanonicalURL(o.Value) {
			// Parsing allocates (and allocation costs garbage collection
			// over the whole gateway): only for a URL canonicalisation
			// could change. Stored values are canonical, so the exact
			// probe above and this one never both match.
			if c, err := wire.CanonicalIndicator(wire.IndicatorURL, o.Value); err == nil && c != o.Value {
				v.addStr(i, tagURL, c, false)
			}
		}
	case wire.IndicatorUserAgent:
		v.addStr(i, tagUserAgent, o.Value, false)
		if !oneSpaced(o.Value) {
			if c := strings.Join(strings.Fields(o.Value), " "); c != o.Value {
				v.addStr(i, tagUserAgent, c, false)
			}
		}
	case wire.IndicatorEmail:
		v.addStr(i, tagEmail, strings.TrimSpace(o.Value), true)
	default:
		if tag := hashTag(o.Kind); tag != 0 {
			v.addStr(i, tag, o.Value, true)
		}
	}
}

// resolve looks up the view's probes, in passes that read ahead.
func (v *View) resolve(hit func(int, *Entry)) int {
	m, x := v.m, &v.m.idx
	ps := v.probes
	k := 0
	for _, p := range ps { // the filter's bits
		if m.maybe(p.h) {
			ps[k] = p
			k++
		}
	}
	ps = ps[:k]
	mask := uint64(len(x.slots) - 1)
	for i := range ps { // each probe's home slot
		ps[i].slot = x.slots[ps[i].h&mask]
	}
	// Each pass below reads memory the next one needs for every probe of
	// the group, and no read in a pass depends on another of the same
	// pass: the processor has them all in flight at once.
	var sink uint64
	arena := x.arena
	for _, p := range ps { // every line of the record a fingerprint names
		if p.slot != 0 && p.slot>>32 == p.h>>32 {
			off := int(uint32(p.slot))
			end := min(off+recKey+int(p.n), len(arena)) - 1
			for ; off < end; off += 64 {
				sink += uint64(arena[off])
			}
			sink += uint64(arena[end])
		}
	}
	if hit != nil {
		// The entries the callback reads: the handle's slot, then the
		// entry's lines (a byte at most 64 apart from its first to its
		// last: every line it spans). Callers tell entries apart by
		// pointer, so the id's bytes are not read.
		for _, p := range ps {
			if p.slot != 0 && p.slot>>32 == p.h>>32 {
				if h := binary.LittleEndian.Uint32(arena[uint32(p.slot)+recHandle:]); int(h) < len(m.ents) {
					e := &m.ents[h]
					sink += uint64(len(e.ID)+len(e.Value)+len(e.Techniques)) + uint64(e.ValidUntil)
				}
			}
		}
	}
	v.sink += sink // keeps the reads above
	n := 0
	for _, p := range ps {
		off, _ := find(x, p.h, p.tag, v.keys[p.at:p.at+p.n])
		for ; off != 0; off = x.next(off) {
			if handle, ok := x.active(off, v.now); ok {
				n++
				if hit != nil {
					hit(int(p.obs), &m.ents[handle])
				}
			}
		}
	}
	return n
}

// lowerASCII lower-cases b in place (canonical values are ASCII lower
// case where their type folds case).
// Eight bytes at a time (hashes are 32–64 characters, looked up for
// every event that carries one): a byte's high bit marks, without
// carries between bytes, whether it is an ASCII upper-case letter, and
// that bit shifted to 0x20 lower-cases it.
func lowerASCII(b []byte) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	j := 0
	for ; j+8 <= len(b); j += 8 {
		w := binary.LittleEndian.Uint64(b[j:])
		x := w &^ highs                // each byte below 0x80: the sums below do not carry
		ge := x + ones*(0x80-'A')      // high bit: byte >= 'A'
		gt := x + ones*(0x80-'Z'-1)    // high bit: byte > 'Z'
		upper := ge &^ gt &^ w & highs // 'A'..'Z' and ASCII
		binary.LittleEndian.PutUint64(b[j:], w|upper>>2)
	}
	for ; j < len(b); j++ {
		if c := b[j]; c >= 'A' && c <= 'Z' {
			b[j] = c + 'a' - 'A'
		}
	}
}

// oneSpaced reports whether s is already its strings.Fields join: no
// leading, trailing or doubled white space and no white space but ' '.
func oneSpaced(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false // Fields also splits on Unicode spaces: join to know
		}
		space := c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
		if space && (prevSpace || c != ' ') {
			return false
		}
		prevSpace = space
	}
	return !prevSpace || s == ""
}

func mask4(bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// maybeNonCanonicalURL reports whether canonicalisation (see
// wire.CanonicalIndicator) could change u: false only when its scheme and
// host are lower case, it has a path, no default port, no
// percent-escape, no fragment and no surrounding white space. A false
// answer is exact; a true one only means "parse to know".
func maybeNonCanonicalURL(u string) bool {
	if u == "" || strings.ContainsAny(u, "%#") {
		return true
	}
	for j := 0; j < len(u); j++ {
		c := u[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@/?[]", c) >= 0) {
			return true // a character the canonical form escapes (or white space)
		}
	}
	i := strings.Index(u, "://")
	if i <= 0 {
		return true
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 || rest[end] != '/' {
		return true // empty path: canonical form writes "/"
	}
	for j := 0; j < i+3+end; j++ {
		if c := u[j]; c >= 'A' && c <= 'Z' || c == '@' || c == '[' {
			return true // upper case, user info or an IPv6 host: parse
		}
	}
	host := rest[:end]
	if strings.HasSuffix(host, ".") || strings.Contains(host, ".:") {
		return true // a trailing dot the canonical host drops
	}
	for _, p := range []string{":80", ":443", ":21"} {
		if strings.HasSuffix(host, p) {
			return true
		}
	}
	return false
}

// parseIPv4 parses the dotted-quad spelling netip.ParseAddr accepts for
// IPv4 (four decimal fields of 0–255, no leading zeros) without building a
// netip.Addr: most observed addresses are IPv4. ok is false for anything
// else, which the caller hands to netip.ParseAddr.
func parseIPv4(s string) (uint32, bool) {
	var k uint32
	field, digits, dots := uint32(0), 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && field == 0 {
				return 0, false // a leading zero
			}
			field = field*10 + uint32(c-'0')
			if digits++; field > 255 {
				return 0, false
			}
		case c == '.':
			if digits == 0 || dots == 3 {
				return 0, false
			}
			k, field, digits = k<<8|field, 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if digits == 0 || dots != 3 {
		return 0, false
	}
	return k<<8 | field, true
}
