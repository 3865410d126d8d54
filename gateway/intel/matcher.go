package intel

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

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

	next *Entry // the next entry with the same value (another sharer)
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

// Matcher holds the indicators this organisation may read in structures
// built for lookups at ingest speed:
//
//   - IPv4 addresses in a map keyed by the address as a uint32, IPv6 by
//     its 16 bytes (no string work once an observed address is parsed);
//   - CIDR prefixes in one map per prefix length that holds any, keyed by
//     the masked address, so an address costs one lookup per length in
//     use (a handful in practice) rather than a walk over every prefix;
//   - every other type in a map per type keyed by the canonical value,
//     domains looked up with each parent domain too (a.b.evil.example
//     matches an indicator evil.example);
//   - in front of all of them a 2 MiB bit set of every key put, so a miss
//     (what almost every observable is) usually costs one cached bit
//     test instead of a probe into maps of a million entries.
//
// Go's maps are well-kept, cache-friendly hash tables (Swiss tables since
// Go 1.24); a trie for exact values would cost a pointer chase per byte.
// Reads take a read lock once per batch ([Matcher.Scan]), so ingest-side
// lookups do not contend with each other; the sync goroutine's updates
// take the write lock briefly per indicator. It is safe for concurrent use.
type Matcher struct {
	mu    sync.RWMutex
	byID  map[string]*Entry
	v4    map[uint32]*Entry
	v6    map[[16]byte]*Entry
	cidr4 [33]map[uint32]*Entry
	cidr6 [129]map[[16]byte]*Entry
	len4  []int // prefix lengths present in cidr4, longest first
	len6  []int
	str   map[string]map[string]*Entry // type → canonical value → entries

	// filter is a one-hash bit set over every key put (see filterBits):
	// a lookup whose bit is clear is a miss without touching the maps.
	// Removal leaves bits set (they only cost a map probe).
	filter []uint64
	seed   maphash.Seed
}

// filterBits sizes the pre-filter: 2^24 bits (2 MiB) keep it in the
// processor's cache, and with 1,000,000 indicators about 6 % of misses
// still probe a map. Most observables miss every indicator, and a map
// probe over a million entries costs cache misses the filter avoids.
const filterBits = 1 << 24

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (m *Matcher) mark(h uint64) {
	i := h & (filterBits - 1)
	m.filter[i>>6] |= 1 << (i & 63)
}

func (m *Matcher) maybe(h uint64) bool {
	i := h & (filterBits - 1)
	return m.filter[i>>6]&(1<<(i&63)) != 0
}

func h4(k uint32, bits int) uint64 { return mix64(uint64(k) | uint64(bits+1)<<32) }

func (m *Matcher) h6(a [16]byte, bits int) uint64 {
	return maphash.Bytes(m.seed, a[:]) ^ mix64(uint64(bits+200))
}

func (m *Matcher) hs(typ, v string) uint64 {
	return maphash.String(m.seed, v) ^ mix64(uint64(len(typ))<<8|uint64(typ[0]))
}

// NewMatcher returns an empty matcher.
func NewMatcher() *Matcher {
	m := &Matcher{
		byID: map[string]*Entry{},
		v4:   map[uint32]*Entry{},
		v6:   map[[16]byte]*Entry{},
		str:  map[string]map[string]*Entry{},

		filter: make([]uint64, filterBits/64),
		seed:   maphash.MakeSeed(),
	}
	for _, t := range wire.IndicatorTypes {
		switch t {
		case wire.IndicatorIPv4, wire.IndicatorIPv6, wire.IndicatorCIDR:
		default:
			m.str[t] = map[string]*Entry{}
		}
	}
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

// Put adds e, replacing the entry with the same id (a re-share). e must
// hold a canonical value (see [EntryOf]); an entry whose value does not
// parse for its type is ignored and Put reports false. The matcher keeps e
// and the caller must not change it afterwards.
func (m *Matcher) Put(e *Entry) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(e.ID)
	e.next = nil
	switch e.Type {
	case wire.IndicatorIPv4, wire.IndicatorIPv6:
		a, err := netip.ParseAddr(e.Value)
		if err != nil {
			return false
		}
		if a.Is4() {
			putChain(m.v4, v4key(a), e)
			m.mark(h4(v4key(a), 32))
		} else {
			putChain(m.v6, a.As16(), e)
			m.mark(m.h6(a.As16(), 128))
		}
	case wire.IndicatorCIDR:
		p, err := netip.ParsePrefix(e.Value)
		if err != nil {
			return false
		}
		bits := p.Bits()
		if p.Addr().Is4() {
			if m.cidr4[bits] == nil {
				m.cidr4[bits] = map[uint32]*Entry{}
				m.len4 = insertLen(m.len4, bits)
			}
			putChain(m.cidr4[bits], v4key(p.Addr()), e)
			m.mark(h4(v4key(p.Addr()), bits))
		} else {
			if m.cidr6[bits] == nil {
				m.cidr6[bits] = map[[16]byte]*Entry{}
				m.len6 = insertLen(m.len6, bits)
			}
			putChain(m.cidr6[bits], p.Addr().As16(), e)
			m.mark(m.h6(p.Addr().As16(), bits))
		}
	default:
		mp, ok := m.str[e.Type]
		if !ok {
			return false
		}
		putChain(mp, e.Value, e)
		m.mark(m.hs(e.Type, e.Value))
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
	switch e.Type {
	case wire.IndicatorIPv4, wire.IndicatorIPv6:
		a, _ := netip.ParseAddr(e.Value) // parsed when it was put
		if a.Is4() {
			dropChain(m.v4, v4key(a), e)
		} else {
			dropChain(m.v6, a.As16(), e)
		}
	case wire.IndicatorCIDR:
		p, _ := netip.ParsePrefix(e.Value)
		bits := p.Bits()
		if p.Addr().Is4() {
			dropChain(m.cidr4[bits], v4key(p.Addr()), e)
			if len(m.cidr4[bits]) == 0 {
				m.cidr4[bits] = nil
				m.len4 = slices.DeleteFunc(m.len4, func(b int) bool { return b == bits })
			}
		} else {
			dropChain(m.cidr6[bits], p.Addr().As16(), e)
			if len(m.cidr6[bits]) == 0 {
				m.cidr6[bits] = nil
				m.len6 = slices.DeleteFunc(m.len6, func(b int) bool { return b == bits })
			}
		}
	default:
		dropChain(m.str[e.Type], e.Value, e)
	}
	return true
}

func putChain[K comparable](mp map[K]*Entry, k K, e *Entry) {
	e.next = mp[k]
	mp[k] = e
}

func dropChain[K comparable](mp map[K]*Entry, k K, e *Entry) {
	h := mp[k]
	if h == e {
		h = e.next
	} else {
		for p := h; p != nil && p.next != nil; p = p.next {
			if p.next == e {
				p.next = e.next
				break
			}
		}
	}
	if h == nil {
		delete(mp, k)
	} else {
		mp[k] = h
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
// valid only inside the function given to [Matcher.Scan].
type View struct {
	m   *Matcher
	now int64
	buf []byte
}

// Scan runs fn with a view on which lookups see the indicators active at
// now, holding the read lock once for the whole batch.
func (m *Matcher) Scan(now time.Time, fn func(v *View)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(&View{m: m, now: now.UnixNano()})
}

// Lookup calls hit for every active indicator o matches (most specific
// first for addresses and domains) and returns how many it matched. The
// observed value is canonicalised the way the indicator type's values are
// (see wire.CanonicalIndicator); a value that is not a valid instance of
// its kind matches nothing.
func (v *View) Lookup(o Observable, hit func(*Entry)) int {
	m := v.m
	n := 0
	emit := func(e *Entry) {
		for ; e != nil; e = e.next {
			if e.Active(v.now) {
				n++
				if hit != nil {
					hit(e)
				}
			}
		}
	}
	switch o.Kind {
	case ObservableIP, wire.IndicatorIPv4, wire.IndicatorIPv6:
		a, err := netip.ParseAddr(o.Value)
		if err != nil {
			return 0
		}
		a = a.Unmap().WithZone("")
		if a.Is4() {
			k := v4key(a)
			if m.maybe(h4(k, 32)) {
				emit(m.v4[k])
			}
			for _, bits := range m.len4 {
				if mk := k & mask4(bits); m.maybe(h4(mk, bits)) {
					emit(m.cidr4[bits][mk])
				}
			}
		} else {
			k := a.As16()
			if m.maybe(m.h6(k, 128)) {
				emit(m.v6[k])
			}
			for _, bits := range m.len6 {
				p, _ := a.Prefix(bits)
				if pk := p.Addr().As16(); m.maybe(m.h6(pk, bits)) {
					emit(m.cidr6[bits][pk])
				}
			}
		}
	case wire.IndicatorDomain:
		d := v.lower(strings.TrimSuffix(o.Value, "."))
		mp := m.str[wire.IndicatorDomain]
		for {
			if m.maybe(m.hs(wire.IndicatorDomain, d)) {
				emit(mp[d])
			}
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
			if strings.IndexByte(d, '.') < 0 {
				break // a bare top-level label is never an indicator
			}
		}
	case wire.IndicatorURL:
		mp := m.str[wire.IndicatorURL]
		if m.maybe(m.hs(wire.IndicatorURL, o.Value)) {
			if e, ok := mp[o.Value]; ok {
				emit(e) // already canonical: the common case for logged URLs
				break
			}
		}
		if maybeNonCanonicalURL(o.Value) {
			// Parsing allocates (and allocation costs garbage collection
			// over the whole matcher): only for a URL canonicalisation
			// could change.
			if c, err := wire.CanonicalIndicator(wire.IndicatorURL, o.Value); err == nil && c != o.Value && m.maybe(m.hs(wire.IndicatorURL, c)) {
				emit(mp[c])
			}
		}
	case wire.IndicatorUserAgent:
		mp := m.str[wire.IndicatorUserAgent]
		if e, ok := mp[o.Value]; ok {
			emit(e)
		} else if c := strings.Join(strings.Fields(o.Value), " "); c != o.Value {
			emit(mp[c])
		}
	case wire.IndicatorEmail:
		if s := v.lower(strings.TrimSpace(o.Value)); m.maybe(m.hs(o.Kind, s)) {
			emit(m.str[o.Kind][s])
		}
	default:
		mp, ok := m.str[o.Kind]
		if !ok || o.Kind == "" {
			return 0
		}
		if s := v.lower(o.Value); m.maybe(m.hs(o.Kind, s)) {
			emit(mp[s])
		}
	}
	return n
}

// lower returns s in lower case, reusing the view's buffer (a map lookup
// with string(bytes) does not allocate), so the common all-lower-case value
// costs one scan.
func (v *View) lower(s string) string {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			break
		}
	}
	if i == len(s) {
		return s
	}
	v.buf = append(v.buf[:0], s...)
	for j := i; j < len(v.buf); j++ {
		if c := v.buf[j]; c >= 'A' && c <= 'Z' {
			v.buf[j] = c + 'a' - 'A'
		}
	}
	return string(v.buf)
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
