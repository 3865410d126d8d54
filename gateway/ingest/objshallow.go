package ingest

import (
	"bytes"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// This file is the Decoder's map-free mode (MembersShallow, PrefixShallow,
// ObjectShallow). A record that normalize keeps as decoded (the common
// case: ECS-speaking shippers, the flow rows the benchmarks replay) needs
// no map at all past ingest: the store writes Event.FieldsCanonical and
// the alerter reads the stored bytes. Profiling the gateway under NDJSON
// load put building that map and its boxed values (plus the garbage
// collector's marking of them) at a fifth of the gateway's CPU, so in
// this mode the Decoder only checks the record's syntax and writes its
// canonical encoding, and hands the caller the record's top-level member
// names and raw values (Field), from which normalize.Shallow reads the
// few members it classifies with (decoding only those, with Value).
//
// What the canonical encoding is, value for value, is what the map mode
// writes for the same input (FuzzDecoderShallow checks this): numbers,
// literals and plain strings copied as written, other strings and names
// through gateway.AppendFieldValue, arrays element by element, objects
// with their names sorted bytewise and, below the record's own level, a
// repeated name's last value kept (encoding/json's map semantics; at the
// record's level a repeated name makes the Decoder give up, as the map
// mode does). The Decoder gives up wherever the map mode does (invalid
// UTF-8, nesting past decoderDepth, anything encoding/json would refuse)
// and where the caller's stop function says the record needs its map.

// Fields are the members of a record decoded in the map-free mode, in
// input order: each one's name and its value as written. They alias the
// decoder's input (and its scratch space for names holding escapes), so
// they are valid until the decoder's next call and as long as the input
// is. They hold offsets rather than slices: the decoder lists every
// member of every record, and slices (pointers) would cost a write
// barrier each while the garbage collector runs, which under ingest load
// is most of the time.
type Fields struct {
	line, keys []byte
	s          []smember // key, esc and raw: see listFields
	// names identifies the list of the record's names (Decoder.namesGen
	// when it was read; 0 for none), memo is its Decoder's (see Memo).
	names uint64
	memo  *fieldsMemo
}

// FieldsMemo is what a reader of Fields computed from the records' member
// names alone (normalize.Shallow: where the few members it reads are),
// kept by the Decoder for the next record with the same names (see
// Fields.Memo).
type FieldsMemo [8]int32

// fieldsMemo is a Decoder's FieldsMemo and the names it was set for.
type fieldsMemo struct {
	names uint64
	v     FieldsMemo
}

// Memo returns the FieldsMemo last set (SetMemo) and true while the
// Decoder's records have kept the member names, in the same order, that
// it was set for; false when there is none (names A, then B, then A
// again find none: one memo is kept, for the latest names). Lines of one
// source repeat their names, so a reader that computes something from
// the names alone does it once per source instead of once per line. A Decoder keeps one memo: it is for
// one reader of its Fields (normalize.Shallow; each ingest package keeps
// its own Decoders).
func (f Fields) Memo() (FieldsMemo, bool) {
	if f.names == 0 || f.memo.names != f.names {
		return FieldsMemo{}, false
	}
	return f.memo.v, true
}

// SetMemo keeps v for the records with f's names (see Memo); it does
// nothing for the zero Fields.
func (f Fields) SetMemo(v FieldsMemo) {
	if f.names != 0 {
		f.memo.names, f.memo.v = f.names, v
	}
}

// Len is the number of members.
func (f Fields) Len() int { return len(f.s) }

// Key is the i-th member's name, decoded.
func (f Fields) Key(i int) []byte {
	if e := &f.s[i]; e.esc {
		return f.keys[e.key.from:e.key.to]
	}
	return f.line[f.s[i].key.from:f.s[i].key.to]
}

// Raw is the i-th member's value as written.
func (f Fields) Raw(i int) []byte { return f.line[f.s[i].raw.from:f.s[i].raw.to] }

// smember is one member of an object being encoded in the map-free mode
// (no pointers, for the reason Fields has none).
type smember struct {
	key    span // the name, decoded: in d.keys when esc, else in the input
	esc    bool
	keyEnc span // the name as written, quotes included, when the encoding copies it
	val    span // the value's canonical encoding: in the input, or in d.tmp when tmp
	tmp    bool
	raw    span // the value as written
}

// keyOf returns e's name.
func (d *Decoder) keyOf(e *smember) []byte {
	if e.esc {
		return d.keys[e.key.from:e.key.to]
	}
	return d.b[e.key.from:e.key.to]
}

// StopFunc tells the map-free mode to give up when it meets the member
// name key: record is true for a member of the record (an object member
// of the line in MembersShallow, the line's object in ObjectShallow), false
// for a member of the line's own object (an envelope's). It is how a
// caller that will need the record's map (normalize recognises its shape,
// an envelope's "fields" will be merged into it) stops paying for the
// map-free pass as soon as it knows.
//
// It may be skipped for a name already let through: lines of one source
// repeat their names, and a name the Decoder predicted from the last
// record (read where that record had it, and let through then) is not
// asked about again (a name the prediction misses, say spelt with an
// escape or after other whitespace, is asked about anew). So a Decoder
// is for one stop function, a function of its arguments alone (each
// ingest package keeps its own Decoders), and what stop refuses must be
// refused again downstream, as normalize.Shallow refuses a record
// MayRecognise takes: stop only saves the rest of the pass.
type StopFunc func(key []byte, record bool) bool

// maxShallowBytes is the longest input the map-free mode decodes: its
// offsets are int32 and a string it re-encodes can grow sixfold (a
// control character becomes \u00XX), so longer input goes to the map
// mode, whose nested encodings need no offsets.
const maxShallowBytes = math.MaxInt32 / 6

// beginShallow readies the map-free mode for line, sized for size bytes
// of it (see start), and returns where its encodings start in the block;
// false when the mode does not take line (MapsOnly, too long for its
// offsets). The caller checks line's UTF-8 (all of it before, or what
// it decoded after: PrefixShallow). A caller it took defers endShallow
// with that base and its own outcome.
func (d *Decoder) beginShallow(line []byte, size int, stop StopFunc) (base int, taken bool) {
	if d.MapsOnly || len(line) > maxShallowBytes {
		return 0, false
	}
	d.start(line, size)
	d.shallow, d.stop = true, stop
	d.tmp, d.fields, d.keys = d.tmp[:0], d.fields[:0], d.keys[:0]
	return len(d.enc), true
}

// endShallow leaves the map-free mode after a decode beginShallow took.
func (d *Decoder) endShallow(base int, ok bool) {
	d.shallow, d.stop = false, nil
	d.end(base, ok)
}

// MembersShallow is Members in the map-free mode: a member whose value is
// an object has Shallow set, Value nil, Canonical its canonical encoding
// and Fields its own members in input order; other members are decoded as
// Members decodes them. ok is false wherever Members gives up and when
// stop (may be nil) returns true; the caller then uses Members.
func (d *Decoder) MembersShallow(line []byte, stop StopFunc) (members []Member, ok bool) {
	if !utf8.Valid(line) {
		return nil, false
	}
	base, taken := d.beginShallow(line, len(line), stop)
	if !taken {
		return nil, false
	}
	d.members = true
	defer func() { d.members = false; d.endShallow(base, ok) }()
	d.ws()
	if !d.shallowMembers() {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return d.top, true
}

// PrefixShallow is Prefix in the map-free mode (see MembersShallow); end
// is 0 when ok is false.
//
// Unlike Prefix it does not cut the object out of b first (objectEnd, a
// pass over every byte of every HEC envelope, a tenth of the HEC
// handler's CPU): the map-free mode copies no input up front (no string
// of the line, see sub) and takes the block's room for its encodings
// from the last object's size, so it decodes the object in place,
// stopping at its closing brace, and checks the UTF-8 of what it read
// afterwards. What it returns is what the cut-out decode returns
// (FuzzPrefixShallowInPlace: the same outcome, end and members).
func (d *Decoder) PrefixShallow(b []byte, stop StopFunc) (members []Member, end int, ok bool) {
	if len(b) > maxShallowBytes {
		// Offsets past the object would not fit: cut it out first.
		if end = objectEnd(b); end < 0 {
			return nil, 0, false
		}
		members, ok = d.MembersShallow(b[:end], stop)
		return members, end, ok
	}
	base, taken := d.beginShallow(b, min(len(b), 2*d.lastPrefix), stop)
	if !taken {
		return nil, 0, false
	}
	d.members = true
	defer func() { d.members = false; d.endShallow(base, ok) }()
	if d.peek() != '{' || !d.shallowMembers() || !utf8.Valid(b[:d.i]) {
		return nil, 0, false
	}
	d.lastPrefix = d.i
	return d.top, d.i, true
}

// shallowMembers decodes the object at d.i (its '{') as MembersShallow
// does, into d.top, leaving d.i just past its closing brace.
func (d *Decoder) shallowMembers() bool {
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	for more := true; more; {
		d.ws()
		if d.peek() != '"' {
			return false
		}
		at, esc, _, named := d.skey()
		if !named {
			return false
		}
		key := d.keyAt(at, esc)
		d.ws()
		if !d.eat(':') {
			return false
		}
		d.ws()
		if d.stop != nil && d.stop(key, false) {
			return false
		}
		start := d.i
		// Filled in place: a Member built on the stack and appended was
		// copied into d.top through the collector's bulk write barrier
		// whenever it ran (most of the time under ingest load).
		d.top = append(d.top, Member{})
		m := &d.top[len(d.top)-1]
		m.Key = memberName(key)
		if d.peek() == '{' {
			encStart, fieldStart := len(d.enc), len(d.fields)
			d.asWritten = false
			if !d.shallowObject(1, true) {
				return false
			}
			m.Shallow = true
			if d.asWritten {
				m.Canonical, m.Written, m.RawAt = d.b[start:d.i:d.i], true, start
			} else {
				m.Canonical = d.enc[encStart:len(d.enc):len(d.enc)]
			}
			m.Fields = Fields{line: d.b, keys: d.keys, s: d.fields[fieldStart:len(d.fields):len(d.fields)], names: d.namesGen, memo: &d.memo}
		} else {
			var ok bool
			if m.Value, _, ok = d.value(1); !ok {
				return false
			}
		}
		m.Raw = d.b[start:d.i]
		var closed bool
		if more, closed = d.more(); !closed {
			return false
		}
	}
	return true
}

// ObjectShallow is Object in the map-free mode: line's one object is the
// record; fields are its members in input order and canonical its
// canonical encoding. ok is false wherever Object gives up and when stop
// (may be nil) returns true; the caller then uses Object.
func (d *Decoder) ObjectShallow(line []byte, stop StopFunc) (fields Fields, canonical []byte, ok bool) {
	if !utf8.Valid(line) {
		return Fields{}, nil, false
	}
	base, taken := d.beginShallow(line, len(line), stop)
	if !taken {
		return Fields{}, nil, false
	}
	defer func() { d.endShallow(base, ok) }()
	d.ws()
	if d.peek() != '{' {
		return Fields{}, nil, false
	}
	if !d.shallowObject(0, true) {
		return Fields{}, nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return Fields{}, nil, false
	}
	return Fields{line: d.b, keys: d.keys, s: d.fields, names: d.namesGen, memo: &d.memo}, d.enc[base:len(d.enc):len(d.enc)], true
}

// Value decodes raw, one JSON value (such as a Field's Raw), as Members
// decodes a member's value (maps, json.Number, ...). It is how a reader of
// a map-free record decodes the few members it looks at. It does not
// disturb what the last MembersShallow, PrefixShallow or ObjectShallow
// returned.
func (d *Decoder) Value(raw []byte) (v any, ok bool) {
	if len(raw) > maxShallowBytes || !utf8.Valid(raw) {
		return nil, false
	}
	d.b, d.sb, d.s, d.i = raw, nil, "", 0
	d.shallow = true // strings one by one, short ones from cachedStr
	defer func() { d.b, d.sb, d.shallow = nil, nil, false }()
	d.ws()
	if v, _, ok = d.value(1); !ok {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return v, true
}

// shallowObject encodes the object at d.i (its '{'). The record's object
// (record) is encoded onto d.enc and its members listed in d.fields; a
// nested one is encoded onto d.tmp, where it ends up starting at the
// length d.tmp had when it was called (so an array's elements follow each
// other there).
func (d *Decoder) shallowObject(depth int, record bool) bool {
	if depth >= decoderDepth {
		return false
	}
	open := d.i
	d.i++ // '{'
	base, tbase := len(d.sstack), len(d.tmp)
	defer func() { d.sstack = d.sstack[:base] }()
	predicted := 0 // the record's members whose names the last record's predicted
	d.ws()
	if !d.eat('}') {
		for more := true; more; {
			d.ws()
			var key, keyEnc span
			var esc, checked bool
			if w := d.predictName(record, predicted, len(d.sstack)-base); w > 0 {
				// The name the last record had here, as written (quotes
				// and colon included): what skey and the colon would read.
				at, w := int32(d.i), int32(w)
				key, keyEnc = span{at + 1, at + w - 2}, span{at, at + w - 1}
				d.i += int(w)
				predicted++
				// The last record had this name here and went past
				// it: the stop function let it through then.
				checked = d.lastChecked
			} else {
				if d.peek() != '"' {
					return false
				}
				var ok bool
				if key, esc, keyEnc, ok = d.skey(); !ok {
					return false
				}
				d.ws()
				if !d.eat(':') {
					return false
				}
			}
			d.ws()
			if record && d.stop != nil && !checked && d.stop(d.keyAt(key, esc), true) {
				return false
			}
			start := d.i
			val, tmp, ok := d.shallowValue(depth + 1)
			if !ok {
				return false
			}
			// Grown, then written field by field: appending a composite
			// literal built it on the stack with narrow stores and copied
			// it with wide loads, a stalled store forwarding per member
			// (that line had 8.6 % of BenchmarkKDDPath's CPU samples,
			// these three have 4.5 %).
			d.sstack = append(d.sstack, smember{})
			e := &d.sstack[len(d.sstack)-1]
			e.key, e.esc, e.keyEnc, e.val, e.tmp, e.raw = key, esc, keyEnc, val, tmp, span{int32(start), int32(d.i)}
			if more, ok = d.more(); !ok {
				return false
			}
		}
	}
	ms := d.sstack[base:]
	var order []int
	if record {
		var asWritten bool
		if order, asWritten = d.recordOrder(ms, predicted); asWritten && d.copiesAsWritten(ms, open) {
			// The encoding is the object as written: MembersShallow
			// hands it out as it is in the input (Member.Written),
			// ObjectShallow copies it in one piece.
			if d.members {
				d.asWritten = true
			} else {
				d.enc = append(d.enc, d.b[open:d.i]...)
			}
			d.listFields(ms, tbase)
			return true
		}
	} else {
		order = d.scratchOrder(ms)
	}
	out := d.tmp
	if record {
		out = d.enc
	}
	mark := len(out)
	out = append(out, '{')
	first := true
	for j, k := range order {
		e := &ms[k]
		if j+1 < len(order) && bytes.Equal(d.keyOf(&ms[order[j+1]]), d.keyOf(e)) {
			if record {
				return false // which duplicate the encoding shows is encoding/json's business
			}
			continue // a repeated name: the last wins, as in a decoded map
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		if e.keyEnc.to != 0 {
			out = append(out, d.b[e.keyEnc.from:e.keyEnc.to]...)
		} else {
			out, _ = gateway.AppendFieldValue(out, string(d.keyOf(e))) // a string always encodes
		}
		out = append(out, ':')
		if e.tmp {
			out = append(out, d.tmp[e.val.from:e.val.to]...)
		} else {
			out = append(out, d.b[e.val.from:e.val.to]...)
		}
	}
	out = append(out, '}')
	if record {
		d.enc = out
		d.listFields(ms, tbase)
		return true
	}
	// The members' encodings before mark are no longer needed: move the
	// object's down over them.
	n := copy(out[tbase:], out[mark:])
	d.tmp = out[:tbase+n]
	return true
}

// listFields lists the record's members ms in d.fields and drops what
// its values wrote to d.tmp (from tbase on).
func (d *Decoder) listFields(ms []smember, tbase int) {
	// The members whole, in one copy: Fields reads only their key, esc
	// and raw, but copying those field by field into a narrower struct
	// was a loop of about 24 instructions a member (cachegrind).
	d.fields = append(d.fields, ms...)
	d.tmp = d.tmp[:tbase]
}

// copiesAsWritten reports whether the canonical encoding of the object
// that starts at open and ends just before d.i, whose members ms are in
// the order of their names with none repeated, is its bytes as written:
// every name and value is copied as written (keyEnc set, no tmp) and
// nothing stands between them but the ':' and ',' the encoding writes
// (no whitespace). Records shipped by encoding/json's Marshal (as the
// bench's NSL-KDD rows are) and other compact writers that sort their
// names are so; the member-by-member encoding is then one copy.
func (d *Decoder) copiesAsWritten(ms []smember, open int) bool {
	next := int32(open + 1) // where the next member's name must start
	for i := range ms {
		e := &ms[i]
		if e.tmp || e.keyEnc.to == 0 || e.keyEnc.from != next || e.val.from != e.keyEnc.to+1 {
			return false
		}
		next = e.val.to + 1 // past the ',' (or the '}' after the last)
	}
	return int(next) == d.i
}

// shallowValue encodes the value at d.i: its canonical encoding is the
// returned span of the input, or, with tmp, of d.tmp (written there,
// starting at the length d.tmp had).
func (d *Decoder) shallowValue(depth int) (enc span, tmp, ok bool) {
	start := d.i
	switch c := d.peek(); {
	case c == '"':
		return d.shallowString()
	case c == '{':
		tbase := len(d.tmp)
		if !d.shallowObject(depth, false) {
			return span{}, false, false
		}
		return span{int32(tbase), int32(len(d.tmp))}, true, true
	case c == '[':
		tbase := len(d.tmp)
		if !d.shallowArray(depth) {
			return span{}, false, false
		}
		return span{int32(tbase), int32(len(d.tmp))}, true, true
	case c == 't':
		ok = d.lit("true")
	case c == 'f':
		ok = d.lit("false")
	case c == 'n':
		ok = d.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		ok = d.number()
	}
	if !ok {
		return span{}, false, false
	}
	return span{int32(start), int32(d.i)}, false, true
}

// shallowArray encodes the array at d.i onto d.tmp.
func (d *Decoder) shallowArray(depth int) bool {
	if depth >= decoderDepth {
		return false
	}
	d.i++ // '['
	d.tmp = append(d.tmp, '[')
	d.ws()
	if d.eat(']') {
		d.tmp = append(d.tmp, ']')
		return true
	}
	for {
		d.ws()
		enc, tmp, ok := d.shallowValue(depth + 1)
		if !ok {
			return false
		}
		if !tmp { // a written element is in place already
			d.tmp = append(d.tmp, d.b[enc.from:enc.to]...)
		}
		d.ws()
		if d.eat(',') {
			d.tmp = append(d.tmp, ',')
			continue
		}
		if d.eat(']') {
			d.tmp = append(d.tmp, ']')
			return true
		}
		return false
	}
}

// shallowString encodes the string at d.i: the input bytes when the
// encoding copies them (see str), else written to d.tmp.
func (d *Decoder) shallowString() (enc span, tmp, ok bool) {
	at, esc, plain, ok := d.skey()
	if !ok {
		return span{}, false, false
	}
	if plain.to != 0 {
		return plain, false, true
	}
	tbase := len(d.tmp)
	d.tmp, _ = gateway.AppendFieldValue(d.tmp, string(d.keyAt(at, esc))) // a string always encodes
	return span{int32(tbase), int32(len(d.tmp))}, true, true
}

// skey reads the string at d.i (its '"') without making a string of it:
// at locates it decoded, in the input or, when it holds escapes (esc), in
// d.keys; enc is as str's.
func (d *Decoder) skey() (at span, esc bool, enc span, ok bool) {
	b := d.b
	start := d.i
	plain := true
	for i := start + 1; i < len(b); i++ {
		k := strClass[b[i]]
		if k == strPlain {
			continue // most bytes: one load and one compare
		}
		switch k {
		case strQuote:
			d.i = i + 1
			if plain {
				return span{int32(start + 1), int32(i)}, false, span{int32(start), int32(d.i)}, true
			}
			return span{int32(start + 1), int32(i)}, false, span{}, true
		case strEscape:
			str, _, ok := d.escaped(start)
			if !ok {
				return span{}, false, span{}, false
			}
			from := len(d.keys)
			d.keys = append(d.keys, str...)
			return span{int32(from), int32(len(d.keys))}, true, span{}, true
		case strControl:
			return span{}, false, span{}, false // encoding/json refuses it
		default: // strUnplain
			plain = false
		}
	}
	return span{}, false, span{}, false
}

// keyAt returns the string skey located.
func (d *Decoder) keyAt(at span, esc bool) []byte {
	if esc {
		return d.keys[at.from:at.to]
	}
	return d.b[at.from:at.to]
}

// recordOrder is order for the record's members: lines of one source
// repeat their names, so the last order computed is reused when the
// names are the same, in the same input order, as last time. asWritten
// is true when that order is the input order with no name repeated
// (names strictly increasing).
func (d *Decoder) recordOrder(ms []smember, predicted int) (order []int, asWritten bool) {
	if predicted == len(ms) && len(d.lastEnds) == len(ms) {
		d.lastChecked = d.lastChecked || d.stop != nil
		return d.lastSOrder, d.lastSInOrder // every name read as the last record's
	}
	if len(d.lastEnds) == len(ms) {
		same, from := true, 0
		for i := range ms {
			if !bytes.Equal(d.keyOf(&ms[i]), d.lastNames[from:d.lastEnds[i]]) {
				same = false
				break
			}
			from = d.lastEnds[i]
		}
		if same {
			d.lastChecked = d.lastChecked || d.stop != nil
			return d.lastSOrder, d.lastSInOrder
		}
	}
	// Other names: a new list (for Fields.Memo), checked by this stop
	// function only if there is one.
	d.namesGen++
	d.lastChecked = d.stop != nil
	d.lastNames, d.lastEnds = d.lastNames[:0], d.lastEnds[:0]
	d.lastWritten, d.lastWrittenEnds = d.lastWritten[:0], d.lastWrittenEnds[:0]
	d.lastSInOrder = true
	for i := range ms {
		e := &ms[i]
		if i > 0 && bytes.Compare(d.keyOf(&ms[i-1]), d.keyOf(e)) >= 0 {
			d.lastSInOrder = false
		}
		d.lastNames = append(d.lastNames, d.keyOf(e)...)
		d.lastEnds = append(d.lastEnds, len(d.lastNames))
		// The names predictName offers: plain ones (written as they
		// read, keyEnc) followed by their colon, up to the first other.
		if len(d.lastWrittenEnds) == i && !e.esc && e.keyEnc.to != 0 && int(e.keyEnc.to) < len(d.b) && d.b[e.keyEnc.to] == ':' {
			d.lastWritten = append(d.lastWritten, d.b[e.keyEnc.from:e.keyEnc.to+1]...)
			d.lastWrittenEnds = append(d.lastWrittenEnds, len(d.lastWritten))
		}
	}
	d.lastSOrder = d.sortMembers(d.lastSOrder[:0], ms)
	return d.lastSOrder, d.lastSInOrder
}

// predictName returns the length of the i-th name of the last record
// whose order recordOrder computed, as written with its quotes and the
// colon after it (`"kdd.flag":`), when the input at d.i starts with it
// and the record's first predicted members (all of them: i ==
// predicted) were read so too; 0 otherwise. Such a name is plain (no
// escape, quote or control character), so those bytes are exactly what
// skey and the colon would read: lines of one source repeat their names
// in the same order, and one comparison replaces the scan of each name
// and recordOrder's comparison of the names with the last record's.
func (d *Decoder) predictName(record bool, predicted, i int) int {
	if !record || predicted != i || i >= len(d.lastWrittenEnds) {
		return 0
	}
	from := 0
	if i > 0 {
		from = d.lastWrittenEnds[i-1]
	}
	want := d.lastWritten[from:d.lastWrittenEnds[i]]
	if len(d.b)-d.i < len(want) || string(d.b[d.i:d.i+len(want)]) != string(want) {
		return 0
	}
	return len(want)
}

// scratchOrder is order for a nested object, in scratch space of its own
// (the caller is done with it before another object is sorted).
func (d *Decoder) scratchOrder(ms []smember) []int {
	d.scratch = d.sortMembers(d.scratch[:0], ms)
	return d.scratch
}

// sortMembers appends to dst the indexes of ms in the order of their
// names, a repeated name's in input order.
func (d *Decoder) sortMembers(dst []int, ms []smember) []int {
	for i := range ms {
		dst = append(dst, i)
	}
	slices.SortFunc(dst, func(a, b int) int {
		if c := bytes.Compare(d.keyOf(&ms[a]), d.keyOf(&ms[b])); c != 0 {
			return c
		}
		return a - b
	})
	return dst
}

// memberName returns key as a string, without a copy for the envelope
// members the parsers read.
func memberName(key []byte) string {
	switch string(key) {
	case "time":
		return "time"
	case "host":
		return "host"
	case "source":
		return "source"
	case "sourcetype":
		return "sourcetype"
	case "index":
		return "index"
	case "event":
		return "event"
	case "fields":
		return "fields"
	}
	return string(key)
}

// maxCachedString is the longest string cachedStr keeps, maxCachedStrs
// how many it keeps (it forgets them all when it has that many).
const (
	maxCachedString = 64
	maxCachedStrs   = 256
)

// cachedStr is str for the map-free mode, boxed: the few strings it
// decodes (an envelope's metadata, the members normalize reads) repeat
// from line to line, so short ones are kept boxed and a repeat costs no
// allocation (two per string otherwise: the copy and the box). They are
// kept in a map rather than the last few: a body's hosts alone (16
// sensors in make bench) outnumbered the eight entries the cache had,
// and each line then missed.
func (d *Decoder) cachedStr() (v any, enc span, ok bool) {
	b := d.b
	start := d.i
	plain := true
	for i := start + 1; i < len(b); i++ {
		k := strClass[b[i]]
		if k == strPlain {
			continue // most bytes: one load and one compare
		}
		switch k {
		case strQuote:
			raw := b[start+1 : i]
			d.i = i + 1
			if plain {
				enc = span{int32(start), int32(d.i)}
			}
			if len(raw) > maxCachedString {
				return string(raw), enc, true
			}
			if v, hit := d.strs[string(raw)]; hit {
				return v, enc, true
			}
			if d.strs == nil {
				d.strs = make(map[string]any)
			} else if len(d.strs) >= maxCachedStrs {
				clear(d.strs)
			}
			s := string(raw)
			v = s
			d.strs[s] = v
			return v, enc, true
		case strEscape:
			s, enc, ok := d.escaped(start)
			return s, enc, ok
		case strControl:
			return nil, span{}, false // encoding/json refuses it
		default: // strUnplain
			plain = false
		}
	}
	return nil, span{}, false
}
