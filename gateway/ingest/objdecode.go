package ingest

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Decoder is the ingest parsers' fast path for one JSON object per line
// (an NDJSON or HEC envelope): it decodes the object in one pass over its
// bytes, with no reflection and no intermediate token, and writes the
// canonical encoding of each object member of it (an envelope's "event"
// and "fields") while it decodes, so the event built from it carries
// gateway.Event.FieldsCanonical and is never walked or sorted again.
// Profiling the gateway under NDJSON load put the generic decode into
// map[string]any (sonic), then Validate, Canonical (map iteration and key
// sort) and the store's second walk at half of the ingest handler's CPU.
//
// What it decodes is exactly what DecodeStrict (encoding/json with
// UseNumber) decodes: the same maps, json.Number digits, strings, []any
// and nil; whatever it is not sure of makes it give up (ok false) rather
// than guess, and the caller then takes DecodeStrict's path, so every
// error a client sees is still encoding/json's. It gives up on invalid
// UTF-8, a duplicate member name in an object whose canonical encoding it
// writes, nesting deeper than decoderDepth, whitespace other than JSON's
// four and anything encoding/json would refuse. FuzzDecoder checks the
// values against DecodeStrict and the canonical bytes against
// gateway.Event.Canonical on arbitrary input.
//
// Strings are substrings of one copy of the line (one allocation instead
// of one per string; the line is about the size of the event's Raw, which
// the event holds anyway), maps are allocated at their final size, and
// the canonical encodings of many lines share one block (encChunk) that
// is never written over, so events keep them without a copy. A
// Decoder is reused across the lines of a request (its scratch space and
// the last member order it sorted are kept); it is not safe for
// concurrent use. The zero value is ready to use.
//
// Its map-free mode (MembersShallow, PrefixShallow, ObjectShallow; see
// objshallow.go) writes the same canonical encoding without building the
// record's map at all, for the records normalize keeps as decoded.
type Decoder struct {
	// MapsOnly turns the map-free mode off (MembersShallow, PrefixShallow
	// and ObjectShallow give up at once), so the parsers take their map
	// path: for the tests and benchmarks that compare the two.
	MapsOnly bool

	b, sb []byte // the input; sb: b as copied into s
	s     string // the copy of b decoded strings are substrings of (made on first use)
	i     int    // read position in b

	top   []Member
	stack []member // members of the objects being decoded, innermost last
	enc   []byte   // the block canonical encodings are appended to (see encChunk)

	// The member names of the last object sorted, in input order, and
	// their sorted order: lines of one source repeat their names, so
	// most objects need no sort.
	lastKeys  []string
	lastOrder []int

	// The map-free mode (objshallow.go): shallow is set while it runs,
	// with the caller's stop; tmp holds nested values' encodings, sstack
	// the members of the objects being encoded, fields the records'
	// members, keys the names holding escapes, decoded; lastNames (concatenated, ending at lastEnds) and lastSOrder
	// are the last record's names and order, scratch a nested object's.
	shallow    bool
	stop       StopFunc
	tmp        []byte
	sstack     []smember
	fields     []smember
	keys       []byte
	lastNames  []byte
	lastEnds   []int
	lastSOrder []int
	// lastSInOrder: lastNames are strictly increasing (lastSOrder is the
	// input order and no name repeats).
	lastSInOrder bool
	// lastWritten are the first of lastNames as written, each with its
	// quotes and colon (`"name":`), concatenated and ending at
	// lastWrittenEnds: see predictName.
	lastWritten     []byte
	lastWrittenEnds []int
	// lastChecked: every one of lastNames went past a stop function (the
	// map-free mode does not ask it again about a name it predicted);
	// namesGen numbers the lists lastNames held, memo is Fields.Memo's.
	lastChecked bool
	namesGen    uint64
	memo        fieldsMemo
	// members: MembersShallow runs (a record's encoding may stay in the
	// input); asWritten: the record's encoding is its bytes as written.
	members, asWritten bool
	// lastPrefix is the size of the last object PrefixShallow decoded:
	// the room it asks of the encodings' block for the next (see start).
	lastPrefix int
	scratch    []int
	strs       map[string]any // see cachedStr
}

// Member is one member of the top-level object Decoder.Members decoded.
type Member struct {
	Key string
	// Value is the member's value as encoding/json decodes it into an
	// interface with UseNumber (nil for null).
	Value any
	// Raw is the value's bytes as written; it aliases the input.
	Raw []byte
	// Canonical, when Value is an object (or Shallow), is its canonical
	// encoding (the form of gateway.Event.FieldsCanonical). Unless
	// Written, the Decoder never writes to it again, so it may be kept
	// as it is (it shares a block with other lines' encodings: do not
	// modify it).
	Canonical []byte
	// Shallow is set by the map-free mode (MembersShallow) for an object
	// value: Value is nil, Canonical its encoding and Fields its members.
	Shallow bool
	// Written is set by the map-free mode when a Shallow member's
	// canonical encoding is its bytes as written (a compact object with
	// its names in order, its values copied as they are): Canonical is
	// then Raw itself, in the input, not a copy the Decoder keeps, and
	// RawAt is where Raw starts in the input. A caller that keeps it
	// past the input takes it from its own copy of the input, at RawAt
	// (the NDJSON and HEC parsers: from the event's Raw).
	Written bool
	RawAt   int
	// Fields lists a Shallow member's own members in input order; it is
	// valid until the Decoder's next call and aliases the input.
	Fields Fields
}

// member is one member of an object being decoded; keyEnc and valEnc
// locate their canonical encodings in the input when those are the bytes
// as written (empty otherwise: the encoder writes them). Offsets rather
// than slices keep the scratch stack small, with fewer pointers for the
// garbage collector to trace and write barriers to record.
type member struct {
	key            string
	val            any
	keyEnc, valEnc span
}

// span is the input's bytes [from, to); to == 0 for none.
type span struct{ from, to int32 }

// decoderDepth is the nesting the Decoder decodes itself; deeper input
// goes to DecodeStrict. Real telemetry nests a few levels.
const decoderDepth = 32

// Members decodes line, which must hold exactly one JSON object and
// nothing but JSON whitespace around it, and returns its members in
// input order (duplicates included, as written). ok is false when the
// fast path does not decode line: the caller must then decode it with
// DecodeStrict, which also gives the error if there is one. The slice
// is valid until the next call; the values and encodings in it stay.
func (d *Decoder) Members(line []byte) (members []Member, ok bool) {
	if len(line) > math.MaxInt32 || !utf8.Valid(line) {
		// Offsets are int32 (span); encoding/json replaces invalid bytes.
		return nil, false
	}
	d.start(line, len(line))
	base := len(d.enc)
	defer func() { d.end(base, ok) }()
	d.ws()
	if !d.eat('{') {
		return nil, false
	}
	d.ws()
	if !d.eat('}') {
		for more := true; more; {
			key, _, named := d.name()
			if !named {
				return nil, false
			}
			start, encStart := d.i, len(d.enc)
			m := Member{Key: key}
			if d.peek() == '{' {
				var v map[string]any
				if v, ok = d.object(1, true); !ok {
					return nil, false
				}
				m.Value = v
			} else if m.Value, _, ok = d.value(1); !ok {
				return nil, false
			}
			if len(d.enc) > encStart {
				m.Canonical = d.enc[encStart:len(d.enc):len(d.enc)]
			}
			m.Raw = d.b[start:d.i]
			d.top = append(d.top, m)
			var closed bool
			if more, closed = d.more(); !closed {
				return nil, false
			}
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return d.top, true
}

// Object decodes line, which must hold exactly one JSON object and
// nothing but JSON whitespace around it, into the map DecodeObject
// returns for it, with the map's canonical encoding (kept as
// Member.Canonical is). ok is false when the fast path does not decode line: the
// caller must then use DecodeObject, which also gives the error.
func (d *Decoder) Object(line []byte) (obj map[string]any, canonical []byte, ok bool) {
	if len(line) > math.MaxInt32 || !utf8.Valid(line) {
		return nil, nil, false
	}
	d.start(line, len(line))
	base := len(d.enc)
	defer func() { d.end(base, ok) }()
	d.ws()
	if d.peek() != '{' {
		return nil, nil, false
	}
	if obj, ok = d.object(0, true); !ok {
		return nil, nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, nil, false
	}
	return obj, d.enc[base:len(d.enc):len(d.enc)], true
}

// encChunk is the size of the blocks canonical encodings are written
// into: each block is shared by the encodings of several lines and is
// never written over, so an encoding needs no copy of its own to outlive
// the next line (see Member.Canonical).
const encChunk = 64 << 10

// start sets the decoder up for line: a fresh block for the canonical
// encodings when the current one may not hold those of size bytes of
// input (len(line), but for PrefixShallow, whose line runs on past the
// object it decodes). size only spares the block being outgrown (and
// copied) in mid-line; an encoding larger than it is still correct.
func (d *Decoder) start(line []byte, size int) {
	d.b, d.sb, d.s, d.i = line, nil, "", 0
	d.top, d.stack = d.top[:0], d.stack[:0]
	if need := size + 64; cap(d.enc)-len(d.enc) < need {
		d.enc = make([]byte, 0, max(encChunk, 2*need))
	}
}

// end forgets the caller's buffer and, when line was not decoded, the
// encoding bytes written for it (no one holds them).
func (d *Decoder) end(base int, ok bool) {
	d.b, d.sb = nil, nil
	if !ok {
		d.enc = d.enc[:base]
	}
}

// KeepCanonical sets ev.FieldsCanonical to canonical, the encoding the
// Decoder wrote for obj (not copied: the Decoder never writes over it),
// when ev's fields are obj itself
// (the same map, as normalize keeps an object it does not recognise,
// with nothing merged into it); otherwise it leaves ev alone and the
// canonical encoder encodes ev.Fields.
func KeepCanonical(ev *gateway.Event, obj map[string]any, canonical []byte) {
	if canonical == nil || ev.Fields == nil || obj == nil || len(ev.Fields) != len(obj) ||
		reflect.ValueOf(ev.Fields).UnsafePointer() != reflect.ValueOf(obj).UnsafePointer() {
		return
	}
	ev.FieldsCanonical = canonical
}

// WrittenIn returns the canonical encoding a Shallow member gave
// (canonical, written and at: its Canonical, Written and RawAt) for an
// event whose Raw is raw, a copy of the Decoder's input: canonical when
// the Decoder wrote it (a copy it keeps), and when written (the encoding
// is the member's bytes as written, in the input) the same bytes in raw,
// so that the event holds neither a reference to the caller's input nor
// a second copy of those bytes. raw not being that copy is a caller's
// bug; where it shows (raw too short, or its bytes there not the same
// encoding) the bytes are copied out of the input instead, so the event
// never stores other bytes than the member's.
func WrittenIn(raw, canonical []byte, written bool, at int) []byte {
	if !written {
		return canonical
	}
	end := at + len(canonical)
	if at < 0 || end > len(raw) || !bytes.Equal(raw[at:end], canonical) {
		return slices.Clone(canonical)
	}
	return raw[at:end:end]
}

// Prefix is Members for the JSON object at the start of b (no whitespace
// before it) followed by anything, such as the next object of a stream
// of concatenated ones (HEC): end is the offset just past the object's
// closing brace.
func (d *Decoder) Prefix(b []byte) (members []Member, end int, ok bool) {
	end = objectEnd(b)
	if end < 0 {
		return nil, 0, false
	}
	members, ok = d.Members(b[:end])
	return members, end, ok
}

// objectEnd returns the offset just past the object at the start of b
// (matching braces and brackets outside strings, checking nothing else:
// Members checks the syntax), or -1 when b does not start with one that
// ends. Cutting the object out first keeps the decoder's copy of its
// input and its UTF-8 check to that one object.
//
// It is a pass over every byte of every HEC envelope (13 % of the HEC
// handler's CPU when it went byte by byte), so bytes are classified by
// table and a string's end is found with bytes.IndexByte: a quote ends
// the string when an even number of backslashes precede it.
// FuzzObjectEnd checks it against the byte-by-byte scan.
func objectEnd(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch endClass[b[i]] {
		case endOther:
		case endOpen:
			depth++
		case endClose:
			if depth--; depth == 0 {
				return i + 1
			}
		case endQuote:
			open := i
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return -1
				}
				i += 1 + j
				k := i - 1
				for k > open && b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break // not escaped: the string ends here
				}
			}
		}
	}
	return -1
}

// The classes of bytes objectEnd tells apart.
const (
	endOther = iota
	endOpen
	endClose
	endQuote
)

var endClass = [256]byte{'{': endOpen, '[': endOpen, '}': endClose, ']': endClose, '"': endQuote}

// MemberIndex returns the index in names of the struct member
// encoding/json would decode the object member key into, for a struct
// whose json names are names (lowercase ASCII): -1 for none (the member
// is ignored). ok is false when it cannot tell without encoding/json's
// own matching: key equals a name only case-insensitively, or is not
// ASCII (Unicode case folding maps some letters, such as the Kelvin
// sign, onto ASCII ones).
func MemberIndex(key string, names []string) (i int, ok bool) {
	for i, name := range names {
		if key == name {
			return i, true
		}
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return -1, false
		}
	}
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return -1, false
		}
	}
	return -1, true
}

// name reads an object member's name and the colon after it, with the
// whitespace around them, leaving d.i at the member's value.
func (d *Decoder) name() (key string, enc span, ok bool) {
	d.ws()
	if d.peek() != '"' {
		return "", span{}, false
	}
	if key, enc, ok = d.str(); !ok {
		return "", span{}, false
	}
	d.ws()
	if !d.eat(':') {
		return "", span{}, false
	}
	d.ws()
	return key, enc, true
}

// more reads what follows an object member: more is true after a comma
// (another member follows) and false after the closing brace; ok is
// false after anything else.
func (d *Decoder) more() (more, ok bool) {
	d.ws()
	if d.eat(',') {
		return true, true
	}
	return false, d.eat('}')
}

// ws skips JSON whitespace.
func (d *Decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return // compact JSON: no whitespace, one compare (all four are <= ' ')
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *Decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *Decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// sub returns b[from:to] as a substring of the one copy of b.
func (d *Decoder) sub(from, to int) string {
	if d.shallow {
		// The map-free mode decodes few strings (an envelope's metadata):
		// a copy of each is less than a copy of the line.
		return string(d.b[from:to])
	}
	if d.sb == nil {
		d.s = string(d.b)
		d.sb = d.b
	}
	return d.s[from:to]
}

// value decodes the value at d.i (whitespace skipped); enc locates its
// canonical encoding when that is its input bytes (numbers, literals,
// plain strings).
func (d *Decoder) value(depth int) (v any, enc span, ok bool) {
	start := d.i
	switch c := d.peek(); {
	case c == '"':
		if d.shallow {
			return d.cachedStr()
		}
		s, enc, ok := d.str()
		return s, enc, ok
	case c == '{':
		m, ok := d.object(depth, false)
		if !ok {
			return nil, span{}, false
		}
		return m, span{}, true
	case c == '[':
		a, ok := d.array(depth)
		if !ok {
			return nil, span{}, false
		}
		return a, span{}, true
	case c == 't':
		if d.lit("true") {
			return true, span{int32(start), int32(d.i)}, true
		}
	case c == 'f':
		if d.lit("false") {
			return false, span{int32(start), int32(d.i)}, true
		}
	case c == 'n':
		if d.lit("null") {
			return nil, span{int32(start), int32(d.i)}, true
		}
	case c == '-' || '0' <= c && c <= '9':
		if d.number() {
			return json.Number(d.sub(start, d.i)), span{int32(start), int32(d.i)}, true
		}
	}
	return nil, span{}, false
}

func (d *Decoder) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// number consumes a JSON number (RFC 8259 grammar); what follows it is
// checked by the caller's structure.
func (d *Decoder) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	d.i = i
	return true
}

// str decodes the string at d.i. enc is its input bytes, quotes included,
// when the canonical encoding writes it unchanged: printable ASCII other
// than `"`, `\`, `<`, `>` and `&` (gateway.AppendFieldValue's rule for a
// string it copies).
func (d *Decoder) str() (s string, enc span, ok bool) {
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
			s = d.sub(start+1, i)
			if plain {
				return s, span{int32(start), int32(d.i)}, true
			}
			return s, span{}, true
		case strEscape:
			return d.escaped(start)
		case strControl:
			return "", span{}, false // encoding/json refuses it
		default: // strUnplain
			plain = false
		}
	}
	return "", span{}, false
}

// escaped decodes a string holding escapes with encoding/json itself
// (rare in telemetry; its handling of lone surrogates is exactly kept).
func (d *Decoder) escaped(start int) (string, span, bool) {
	b := d.b
	i := start + 1
	for i < len(b) && b[i] != '"' {
		if b[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(b) {
		return "", span{}, false
	}
	var s string
	if json.Unmarshal(b[start:i+1], &s) != nil {
		return "", span{}, false
	}
	d.i = i + 1
	return s, span{}, true
}

// array decodes the array at d.i.
func (d *Decoder) array(depth int) ([]any, bool) {
	if depth >= decoderDepth {
		return nil, false
	}
	d.i++ // '['
	a := []any{}
	d.ws()
	if d.eat(']') {
		return a, true
	}
	for {
		d.ws()
		v, _, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return a, true
		}
		return nil, false
	}
}

// object decodes the object at d.i into a map of its final size; with
// canon it also appends the object's canonical encoding to d.enc.
func (d *Decoder) object(depth int, canon bool) (map[string]any, bool) {
	if depth >= decoderDepth {
		return nil, false
	}
	d.i++ // '{'
	base := len(d.stack)
	defer func() { d.stack = d.stack[:base] }()
	d.ws()
	if !d.eat('}') {
		for more := true; more; {
			key, keyEnc, ok := d.name()
			if !ok {
				return nil, false
			}
			v, valEnc, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			d.stack = append(d.stack, member{key: key, val: v, keyEnc: keyEnc, valEnc: valEnc})
			if more, ok = d.more(); !ok {
				return nil, false
			}
		}
	}
	ms := d.stack[base:]
	m := make(map[string]any, len(ms))
	for _, e := range ms {
		m[e.key] = e.val // a repeated name: the last wins, as in encoding/json
	}
	if canon {
		if len(m) != len(ms) {
			return nil, false // which duplicate the encoding shows is encoding/json's business
		}
		if !d.appendCanonical(ms) {
			return nil, false
		}
	}
	return m, true
}

// appendCanonical appends the canonical encoding of the object whose
// members (distinct names) are ms: names sorted bytewise, as
// gateway.Event.Canonical orders them.
func (d *Decoder) appendCanonical(ms []member) bool {
	order := d.order(ms)
	d.enc = append(d.enc, '{')
	for i, k := range order {
		if i > 0 {
			d.enc = append(d.enc, ',')
		}
		e := &ms[k]
		if e.keyEnc.to != 0 {
			d.enc = append(d.enc, d.b[e.keyEnc.from:e.keyEnc.to]...)
		} else {
			d.enc, _ = gateway.AppendFieldValue(d.enc, e.key) // a string always encodes
		}
		d.enc = append(d.enc, ':')
		if e.valEnc.to != 0 {
			d.enc = append(d.enc, d.b[e.valEnc.from:e.valEnc.to]...)
			continue
		}
		var ok bool
		if d.enc, ok = gateway.AppendFieldValue(d.enc, e.val); !ok {
			return false
		}
	}
	d.enc = append(d.enc, '}')
	return true
}

// order returns the indexes of ms in the order of their names, reusing
// the last order computed when the names are the same, in the same
// input order, as last time.
func (d *Decoder) order(ms []member) []int {
	if len(d.lastKeys) == len(ms) {
		same := true
		for i := range ms {
			if ms[i].key != d.lastKeys[i] {
				same = false
				break
			}
		}
		if same {
			return d.lastOrder
		}
	}
	d.lastKeys, d.lastOrder = d.lastKeys[:0], d.lastOrder[:0]
	for i := range ms {
		d.lastKeys = append(d.lastKeys, ms[i].key)
		d.lastOrder = append(d.lastOrder, i)
	}
	slices.SortFunc(d.lastOrder, func(a, b int) int { return strings.Compare(ms[a].key, ms[b].key) })
	return d.lastOrder
}

// The classes of a byte inside a JSON string, for the decoder's string
// scanners: strPlain continues a string encoding/json writes unchanged,
// strQuote ends it, strEscape starts an escape, strControl (below 0x20)
// is refused by encoding/json, strUnplain is valid but written escaped
// (above 0x7e, '<', '>', '&'). A table lookup per byte instead of the
// comparisons it replaced: member names and strings are most of a
// record's bytes, and their scan was a tenth of the decoder's CPU.
const (
	strPlain = iota
	strQuote
	strEscape
	strControl
	strUnplain
)

var strClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == '"':
			t[c] = strQuote
		case c == '\\':
			t[c] = strEscape
		case c < 0x20:
			t[c] = strControl
		case c > 0x7e || c == '<' || c == '>' || c == '&':
			t[c] = strUnplain
		}
	}
	return t
}()
