package features

import (
	"container/list"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Default bounds of a window's memory.
const (
	DefaultMaxKeys   = 65536
	DefaultMaxEvents = 1024
)

// windowAggs is what one window reports for one event's key.
type windowAggs struct {
	count    float64 // matching events of the key in the window
	all      float64 // all events of the key in the window
	distinct float64 // distinct Distinct values among matching events
	rate     float64 // count per second of window
}

type entry struct {
	t       int64  // event time, unix nanoseconds
	h       uint64 // hash of the Distinct field value (0 when absent)
	matched bool
}

// keyState is one key's recent events, oldest first, plus the multiset of
// distinct-value hashes of its matching entries, kept incrementally so a
// distinct count costs O(1) per event rather than a scan.
type keyState struct {
	key     string
	entries []entry
	head    int // entries[head:] are live; compacted when head passes half
	matched int
	hashes  map[uint64]int
	elem    *list.Element
	base    baselineState // constant size; unused without a Baseline
}

// window is the bounded state of one WindowSpec. Not safe for concurrent
// use; the Engine serialises access.
type window struct {
	spec      WindowSpec
	size      int64
	keys      map[string]*keyState
	lru       *list.List // front = most recently seen key
	seed      maphash.Seed
	maxKeys   int
	maxEvents int
	keyParts  []keyPart
	filter    []filterPair // spec.Filter as a slice: ranging over a map costs more than the compares
	// distinct is the index of spec.Distinct in the engine's window
	// fields (see fieldMemo), -1 when unbound.
	distinct int
	keyBuf   []byte    // reused by observe (the Engine serialises calls)
	base     *baseline // nil without a Baseline
	// last is the baseline report for the last event observed, read by
	// Engine.baselineColumns under the same lock. It is kept here rather
	// than in windowAggs so that struct stays 32 bytes (register-sized:
	// growing it slowed every window extraction by ~20%, baseline or not).
	last baselineAggs
}

// filterPair is one entry of a window's filter; memo is field's index
// in the engine's window fields (fieldMemo), -1 when unbound.
type filterPair struct {
	field, want string
	memo        int
}

// keyPart is one entry of a window's key; memo as for filterPair.
type keyPart struct {
	field  string
	concat bool
	memo   int
}

// maxMemoFields is how many distinct fields a fieldMemo holds; an
// engine's windows reading more look the others up every time.
const maxMemoFields = 16

// fieldMemo is stringField of one event for the fields that more than
// one of an Engine's windows' uses read (names, bound to the windows by
// index: bindWindows), each looked up in the event's map at most once
// per event. The auth models' five windows read four distinct fields a
// dozen times per event (the key source.ip in four windows, the filter
// event.outcome in four), and each lookup in an event's Fields map cost
// 20–40 ns. A fieldMemo without names (an engine whose windows read
// every field once) looks every field up and holds nothing.
type fieldMemo struct {
	ev    *gateway.Event
	names []string
	done  uint32 // bit j: vals[j] holds names[j]'s value
	vals  *[maxMemoFields]memoValue
}

// memoValue is one field's stringField answer.
type memoValue struct {
	s  string
	ok bool
}

// field returns stringField(m.ev, name), name being m.names[j] when j is
// not negative.
func (m *fieldMemo) field(j int, name string) (string, bool) {
	if j < 0 || j >= len(m.names) {
		return stringField(m.ev, name)
	}
	v := &m.vals[j]
	if m.done&(1<<j) == 0 {
		v.s, v.ok = stringField(m.ev, name)
		m.done |= 1 << j
	}
	return v.s, v.ok
}

// bindWindows gives every field that the windows read more than once
// per event (keys, filters, distinct fields, over all windows) an index
// into names, at most maxMemoFields of them (the others stay unbound,
// read from the event at each use), so that observe reads them through
// one fieldMemo per event. A field read once costs one lookup either
// way; names is nil when no field is read twice.
func bindWindows(windows []*window) (names []string) {
	uses := map[string]int{}
	for _, w := range windows {
		for _, p := range w.keyParts {
			uses[p.field]++
		}
		for _, f := range w.filter {
			uses[f.field]++
		}
		if w.spec.Distinct != "" {
			uses[w.spec.Distinct]++
		}
	}
	index := func(f string) int {
		if uses[f] < 2 {
			return -1
		}
		if j := slices.Index(names, f); j >= 0 {
			return j
		}
		if len(names) == maxMemoFields {
			return -1
		}
		names = append(names, f)
		return len(names) - 1
	}
	for _, w := range windows {
		for i := range w.keyParts {
			w.keyParts[i].memo = index(w.keyParts[i].field)
		}
		for i := range w.filter {
			w.filter[i].memo = index(w.filter[i].field)
		}
		if w.spec.Distinct != "" {
			w.distinct = index(w.spec.Distinct)
		}
	}
	return names
}

func newWindow(s WindowSpec) *window {
	w := &window{
		spec:      s,
		size:      int64(time.Duration(s.Size)),
		keys:      map[string]*keyState{},
		lru:       list.New(),
		seed:      maphash.MakeSeed(),
		maxKeys:   s.MaxKeys,
		maxEvents: s.MaxEvents,
		base:      newBaseline(s),
		distinct:  -1,
	}
	if w.maxKeys <= 0 {
		w.maxKeys = DefaultMaxKeys
	}
	if w.maxEvents <= 0 {
		w.maxEvents = DefaultMaxEvents
	}
	for f, want := range s.Filter {
		w.filter = append(w.filter, filterPair{f, want, -1})
	}
	for _, k := range s.Key {
		if f, ok := strings.CutPrefix(k, "+"); ok {
			w.keyParts = append(w.keyParts, keyPart{field: f, concat: true, memo: -1})
		} else {
			w.keyParts = append(w.keyParts, keyPart{field: k, memo: -1})
		}
	}
	return w
}

// keyOf returns the event's key: the first present alternative, with any
// "+" parts appended after a NUL separator (a byte no field value of
// interest contains, so distinct pairs never collide by concatenation).
// It appends the key to buf[:0] (so a known key costs no allocation) and
// returns an empty slice when the event has none.
func (w *window) keyOf(ev *gateway.Event, buf []byte) []byte {
	return w.keyOfMemo(&fieldMemo{ev: ev}, buf)
}

// keyOfMemo is keyOf reading the event's fields through m.
func (w *window) keyOfMemo(m *fieldMemo, buf []byte) []byte {
	key := buf[:0]
	found := false
	for _, p := range w.keyParts {
		if p.concat {
			if !found {
				continue
			}
			v, _ := m.field(p.memo, p.field)
			key = append(append(key, 0), v...)
			continue
		}
		if found {
			continue
		}
		if v, ok := m.field(p.memo, p.field); ok && v != "" {
			key, found = append(key, v...), true
		}
	}
	if !found {
		return key[:0]
	}
	return key
}

func (w *window) matches(ev *gateway.Event) bool {
	return w.matchesMemo(&fieldMemo{ev: ev})
}

// matchesMemo is matches reading the event's fields through m.
func (w *window) matchesMemo(m *fieldMemo) bool {
	for _, f := range w.filter {
		if v, ok := m.field(f.memo, f.field); !ok || v != f.want {
			return false
		}
	}
	return true
}

// observe adds ev to its key's window and returns the aggregates for that
// key including ev. Entries older than the event's time minus the window
// size are evicted first; events are assumed to arrive roughly in time
// order (an older event is still counted, and evicts nothing). The
// event's fields are read through m (m.ev is the event).
func (w *window) observe(m *fieldMemo) windowAggs {
	ev := m.ev
	w.keyBuf = w.keyOfMemo(m, w.keyBuf)
	if len(w.keyBuf) == 0 {
		w.last = baselineAggs{}
		return windowAggs{}
	}
	t := ev.Time.UnixNano()
	ks := w.keys[string(w.keyBuf)]
	if ks == nil {
		key := string(w.keyBuf)
		if len(w.keys) >= w.maxKeys {
			old := w.lru.Back()
			victim := old.Value.(*keyState)
			w.lru.Remove(old)
			delete(w.keys, victim.key)
		}
		ks = &keyState{key: key, hashes: map[uint64]int{}}
		ks.elem = w.lru.PushFront(ks)
		w.keys[key] = ks
	} else {
		w.lru.MoveToFront(ks.elem)
	}
	cutoff := t - w.size
	for ks.head < len(ks.entries) && ks.entries[ks.head].t <= cutoff {
		w.drop(ks)
	}
	if len(ks.entries)-ks.head >= w.maxEvents {
		w.drop(ks)
	}
	e := entry{t: t, matched: w.matchesMemo(m)}
	if e.matched {
		if w.spec.Distinct != "" {
			if v, ok := m.field(w.distinct, w.spec.Distinct); ok {
				e.h = maphash.String(w.seed, v) | 1 // never 0: 0 means absent
			}
		}
		ks.matched++
		if e.h != 0 {
			ks.hashes[e.h]++
		}
	}
	ks.entries = append(ks.entries, e)
	if ks.head > len(ks.entries)/2 {
		n := copy(ks.entries, ks.entries[ks.head:])
		ks.entries = ks.entries[:n]
		ks.head = 0
	}
	a := windowAggs{
		count:    float64(ks.matched),
		all:      float64(len(ks.entries) - ks.head),
		distinct: float64(len(ks.hashes)),
	}
	if w.size > 0 {
		a.rate = a.count / time.Duration(w.size).Seconds()
	}
	if w.base != nil {
		w.last = w.base.observe(&ks.base, t, w.base.value(a))
	}
	return a
}

func (w *window) drop(ks *keyState) {
	e := ks.entries[ks.head]
	ks.head++
	if e.matched {
		ks.matched--
		if e.h != 0 {
			if ks.hashes[e.h]--; ks.hashes[e.h] <= 0 {
				delete(ks.hashes, e.h)
			}
		}
	}
}
