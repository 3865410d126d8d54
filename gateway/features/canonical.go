package features

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Reading features straight from an event's canonical bytes.
//
// The alerter holds every event twice: decoded (Fields a map[string]any
// of json.Number and strings, scattered over the heap) and as the
// canonical JSON the store keeps (gateway.Leaf). Looking up and parsing
// 41 or 83 fields per event in the map cost 100–145 ns per field, mostly
// cache misses chasing the decoded values; the canonical bytes of one
// event are a single contiguous 0.2–3 KB run whose "fields" object lists
// its keys sorted (encoding/json sorts map keys), so one forward pass
// merged against the spec's sorted field names finds every value with
// one comparison per key and sequential memory access. Numbers are
// parsed as that pass finds their end. A spec reading a few fields that
// sort last (the ECS counters after 80 vendor fields) reads them
// backward from the end of "fields" instead (tail.go).

// rawKind says what a field's raw JSON value is.
type rawKind uint8

const (
	rawAbsent  rawKind = iota
	rawNumber          // b: the number's text
	rawString          // b: the string's bytes, no escapes in it
	rawEscaped         // b: the quoted string, with escapes
	rawTrue
	rawFalse
	rawNull
	rawOther // b: an object or array, verbatim
)

// rawValue is one field's value as it appears in the canonical bytes.
type rawValue struct {
	kind rawKind
	// parsed: x is parseNumber(b), read while scanObject found the
	// value's end, so a number's bytes are read once.
	parsed bool
	b      []byte
	x      float64
}

// indexKeys computes keys, slot and members (see Engine) after Compile
// or Require.
func (e *Engine) indexKeys() {
	seen := map[string]bool{}
	e.keys = e.keys[:0]
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			e.keys = append(e.keys, name)
		}
	}
	for i := range e.feats {
		c := &e.feats[i]
		if c.kind != kWindow && !c.pseudo {
			add(c.f.Field)
		}
	}
	for _, name := range e.required {
		add(name)
	}
	slices.Sort(e.keys)
	e.members = memberNames(e.keys)
	e.slot = make([]int, len(e.feats))
	for i := range e.feats {
		c := &e.feats[i]
		e.slot[i] = -1
		if c.kind != kWindow && !c.pseudo {
			e.slot[i], _ = slices.BinarySearch(e.keys, c.f.Field)
		}
	}
	e.steps = make([]step, len(e.feats))
	for i := range e.feats {
		c := &e.feats[i]
		st := step{slot: int32(e.slot[i]), col: int32(c.col)}
		if c.kind == kNumeric {
			switch {
			case c.log1pOnly:
				st.mode = stepLog1p
			case len(c.ops) == 0:
				st.mode = stepPlain
			default:
				st.mode = stepNumeric
			}
		}
		e.steps[i] = st
	}
	e.reqSlot = e.reqSlot[:0]
	for _, name := range e.required {
		k, _ := slices.BinarySearch(e.keys, name)
		e.reqSlot = append(e.reqSlot, k)
	}
}

// Require makes ExtractCanonical also report whether the event has every
// one of fields in its Fields (present, whatever the value, null
// included: exactly what a model's applies_to.require_fields asks), read
// in the same pass over the canonical bytes as the features instead of a
// map lookup per field on the decoded event (a cold lookup in a map of
// 40–90 fields cost about 250 ns per field on flow records). It must be
// called before the engine is used, not concurrently with extraction.
func (e *Engine) Require(fields []string) {
	e.required = append([]string(nil), fields...)
	e.indexKeys()
}

// maxStackKeys is how many distinct fields ExtractCanonical tracks
// without allocating, and fewKeys and flowKeys how many it tracks in
// smaller arrays:
// the array is zeroed on every call (it holds pointers), 5 KB at
// maxStackKeys, which cost a DNS model reading one field more than
// finding that field.
const (
	maxStackKeys = 128
	fewKeys      = 16
	// flowKeys holds the served flow models' fields (41 for nsl-kdd,
	// 51 for cic-ids2017) in 2.5 KB.
	flowKeys = 64
)

// ExtractCanonical is Extract reading the fields from canonical, the
// event's canonical bytes (ev.Canonical(), as gateway.Leaf carries them
// beside the decoded event): it writes exactly the vector Extract(ev, dst)
// writes, bit for bit (FuzzExtractCanonical checks it), faster. It
// reports whether ev has every field Require named (true when none);
// when it reports false, dst is undefined (it may not be written: the
// caller drops such an event, and writing its vector was a model's
// whole extraction cost for events of another source). Window
// features, pseudo-fields (@class, …) and any event whose bytes are not
// in the shape this reader expects (keys with escapes, no top-level
// object) are read from ev. The reader relies on the canonical order of
// keys (sorted, unique) to find each field with one comparison, so bytes
// that are not ev's canonical encoding give undefined vectors and
// answers (never a panic). canonical is not modified or retained.
func (e *Engine) ExtractCanonical(ev *gateway.Event, canonical []byte, dst []float32) bool {
	if req, ok := e.extractBytes(ev, canonical, dst, false); ok {
		return req
	}
	e.Extract(ev, dst)
	return e.hasRequired(ev)
}

// ExtractLeaf is ExtractCanonical on a leaf, which may be partial (its
// Event only the header, see gateway.HeaderLeaf): it writes exactly the
// vector, and reports exactly the answer, that ExtractCanonical gives
// for the leaf's whole event and canonical bytes (FuzzExtractLeaf checks
// it; the vector is undefined when the answer is false). The features
// are read from the canonical bytes with the header alone (pseudo-fields and the header's lengths are all the reader takes
// from the event, besides the tail reader's Raw and Labels, which a
// partial leaf goes without); the whole event is decoded (Leaf.Full)
// only where ExtractCanonical reads the decoded event: for a spec with
// windows and for bytes not in the reader's shape. The error is Full's;
// dst is then undefined.
func (e *Engine) ExtractLeaf(l *gateway.Leaf, dst []float32) (bool, error) {
	partial := l.Partial()
	if req, ok := e.extractBytes(&l.Event, l.Canonical, dst, partial); ok {
		return req, nil
	}
	ev := &l.Event
	if partial {
		full, err := l.Full()
		if err != nil {
			return false, err
		}
		ev = &full
	}
	e.Extract(ev, dst)
	return e.hasRequired(ev), nil
}

// extractBytes is ExtractCanonical's reader of the canonical bytes: ok
// false when it did not write dst (a spec with windows, no bytes, bytes
// not in its shape), and the caller extracts from the decoded event.
// headerOnly says ev holds only the header, so the tail reader, which
// needs ev's Raw and Labels to find the end of "fields", is not used.
func (e *Engine) extractBytes(ev *gateway.Event, canonical []byte, dst []float32, headerOnly bool) (req, ok bool) {
	if len(e.windows) > 0 || canonical == nil {
		return false, false
	}
	switch n := len(e.keys); {
	case n <= fewKeys:
		var stack [fewKeys]rawValue
		return e.extractVals(ev, canonical, dst, stack[:n], headerOnly)
	case n <= flowKeys:
		var stack [flowKeys]rawValue
		return e.extractVals(ev, canonical, dst, stack[:n], headerOnly)
	case n <= maxStackKeys:
		var stack [maxStackKeys]rawValue
		return e.extractVals(ev, canonical, dst, stack[:n], headerOnly)
	}
	return e.extractVals(ev, canonical, dst, make([]rawValue, len(e.keys)), headerOnly)
}

// extractVals is extractBytes with vals, len(e.keys) values, to read the
// fields into.
func (e *Engine) extractVals(ev *gateway.Event, canonical []byte, dst []float32, vals []rawValue, headerOnly bool) (req, ok bool) {
	if !e.scanFields(canonical, ev, vals, headerOnly) {
		return false, false
	}
	// An event lacking a required field is dropped by the caller, so its
	// vector is not written: a flow model requiring its vendor's fields
	// (cic-ids2017) reads none of them from another vendor's flows (the
	// NSL-KDD records of the ingest bench) and wrote 83 defaults for each.
	for _, k := range e.reqSlot {
		if vals[k].kind == rawAbsent {
			return false, true
		}
	}
	for i, st := range e.steps {
		if st.slot >= 0 {
			// Most flow features: a parsed number, written as fromRaw
			// would write it, without copying v or reading the feature's
			// compiled form (e.steps are 12 bytes each, e.feats a few
			// hundred).
			if v := &vals[st.slot]; v.parsed {
				switch st.mode {
				case stepLog1p:
					dst[st.col] = log1pF32(v.x)
					continue
				case stepPlain:
					dst[st.col] = plainF32(v.x)
					continue
				case stepNumeric:
					dst[st.col] = e.feats[i].finish(v.x)
					continue
				}
			}
			e.feats[i].fromRaw(vals[st.slot], dst)
			continue
		}
		c := &e.feats[i]
		v, _ := stringField(ev, c.f.Field) // a pseudo-field
		c.putString(v, dst)
	}
	return true, true
}

// step is what extractVals reads of a feature for a field it found
// (slot: the field's index into keys, -1 for windows and pseudo-fields)
// and the column it writes; mode says how a parsed number becomes the
// column without the feature's compiled form.
type step struct {
	slot, col int32
	mode      stepMode
}

// stepMode is how extractVals turns a parsed number into a feature's
// column.
type stepMode uint8

const (
	stepOther   stepMode = iota // not numeric: fromRaw
	stepNumeric                 // numeric with transforms: finish
	stepLog1p                   // numeric, the one transform log1p: log1pF32 (finish's own shortcut)
	stepPlain                   // numeric, no transform: plainF32
)

// plainF32 is finish without transforms: v as float32, 0 when not finite.
func plainF32(v float64) float32 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return float32(v)
}

// hasRequired is ExtractCanonical's answer read from the decoded event.
func (e *Engine) hasRequired(ev *gateway.Event) bool {
	for _, name := range e.required {
		if _, ok := ev.Fields[name]; !ok {
			return false
		}
	}
	return true
}

// fromRaw is fromValue on a raw value: the same columns the decoded value
// (json.Number for numbers) would give.
func (c *compiled) fromRaw(r rawValue, dst []float32) {
	if c.kind == kNumeric {
		switch r.kind {
		case rawNumber:
			x, ok := r.x, true
			if !r.parsed {
				x, ok = parseNumber(bytesString(r.b))
			}
			c.putNumber(x, ok, dst)
		case rawString:
			x, ok := parseNumberString(bytesString(r.b))
			c.putNumber(x, ok, dst)
		case rawTrue:
			c.putNumber(1, true, dst)
		case rawFalse:
			c.putNumber(0, true, dst)
		case rawEscaped:
			var s string
			if json.Unmarshal(r.b, &s) != nil {
				c.putNumber(0, false, dst)
				return
			}
			x, ok := parseNumberString(s)
			c.putNumber(x, ok, dst)
		default: // absent, null, object, array
			c.putNumber(0, false, dst)
		}
		return
	}
	var s string
	switch r.kind {
	case rawNumber, rawString:
		s = bytesString(r.b)
	case rawTrue:
		s = "true"
	case rawFalse:
		s = "false"
	case rawEscaped, rawOther:
		// Rare: decode the value exactly as the store does and read it
		// as Extract would.
		d := json.NewDecoder(bytes.NewReader(r.b))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			s, _ = stringValue(v, true)
		}
	}
	c.putString(s, dst)
}

// bytesString views b as a string without copying. Safe here because
// every caller only reads the string during the call (number parsing,
// vocabulary lookup, lexical statistics) and the canonical bytes are not
// modified while ExtractCanonical runs; no result retains it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// scanFields finds, in the canonical event b, the values of e.keys
// (sorted) inside its top-level "fields" object, writing vals[i] for
// keys[i] (rawAbsent when missing). Engines reading few fields
// (maxTailKeys) first read the last members of "fields" backward from
// its end (scanTail), when ev (the event b encodes, not only its
// header: headerOnly false) says where that end is and tryTail says it
// is worth it, and leave only the keys that
// reading did not resolve to the forward reader (scanObject). The
// forward reader stops after "fields": canonical field order puts only
// raw and labels after it. It reports false when b is not in the
// expected shape (canonical bytes have no whitespace, so any is
// refused); vals are then meaningless. vals must be zero (rawAbsent) on
// entry: extractBytes hands over a fresh array, so it is not cleared
// a second time here.
func (e *Engine) scanFields(b []byte, ev *gateway.Event, vals []rawValue, headerOnly bool) bool {
	keys, members := e.keys, e.members
	if !headerOnly && members != nil && len(keys) > 0 && len(keys) <= maxTailKeys && e.tryTail(b, ev) {
		if c, ok := fieldsClose(b, ev); ok {
			hi, took, ok := scanTail(b, c, keys, vals)
			if !ok {
				return false
			}
			if took == e.tailMiss.Load() {
				e.tailMiss.Store(!took) // written only when it changes: no line bouncing between cores
			}
			if hi == 0 {
				return true
			}
			keys, members, vals = keys[:hi], members[:hi], vals[:hi]
		}
	}
	if i, ok := skipHeaderFrom(b, minHeader(ev)); ok {
		if i < 0 {
			return true // no "fields": every field is absent
		}
		return scanObject(b, i, keys, members, vals)
	}
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	i := 1
	for {
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true // no "fields": every field is absent
		}
		key, j, ok := plainKey(b, i)
		if !ok {
			return false
		}
		i = j
		if string(key) == "fields" {
			if i < len(b) && b[i] == 'n' {
				return bytes.HasPrefix(b[i:], []byte("null"))
			}
			return scanObject(b, i, keys, members, vals)
		}
		var end int
		if end, ok = gateway.SkipJSONValue(b, i); !ok {
			return false
		}
		i = end
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// Keys of the canonical event's header (gateway's appendCanonical).
var (
	classKey  = []byte(`,"class":`)
	fieldsKey = []byte(`,"fields":`)
	rawKey    = []byte(`,"raw":`)
)

// skipHeader finds where the "fields" object of the canonical event b
// starts (-1: the event has no fields), without reading the header key by
// key: the canonical encoder writes id, seq, received, time, source,
// sourcetype, host, index and class in this order, all strings but seq,
// and no string's encoding contains `,"` (a quote inside a string is
// always escaped), so the first `,"class":` in b is the class key, and
// "fields" follows its value or, when the event has none, "raw" does. It
// reports false when b does not look like that; scanFields then reads the
// header key by key.
func skipHeader(b []byte) (int, bool) { return skipHeaderFrom(b, 0) }

// skipHeaderFrom is skipHeader searching for `,"class":` from b[from] on,
// where from is at most the key's offset (minHeader): the first match
// from there is still the class key, and the bytes before it are never
// read (a batch of events does not fit in the caches, and each event's
// first cache lines cost a trip to memory that scanning them for the
// key paid).
func skipHeaderFrom(b []byte, from int) (int, bool) {
	if from < 0 || from >= len(b) {
		from = 0
	}
	p := bytes.Index(b[from:], classKey)
	if p < 0 {
		return 0, false
	}
	i := from + p + len(classKey)
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	end, ok := gateway.SkipJSONValue(b, i)
	if !ok {
		return 0, false
	}
	switch rest := b[end:]; {
	case bytes.HasPrefix(rest, fieldsKey):
		return end + len(fieldsKey), true
	case bytes.HasPrefix(rest, rawKey):
		return -1, true
	}
	return 0, false
}

// minHeader returns a lower bound of the offset of `,"class":` in ev's
// canonical bytes, from the lengths of the header's strings in ev (no
// byte of them read): the literal keys, each string's bytes plus its
// quotes (escaping only lengthens a string), one digit of seq and 20
// bytes per time (RFC 3339 with a four-digit year and "Z", the shortest
// the encoder writes). ev must be the event the bytes encode, as a
// Leaf's Event and Canonical are (the store decodes the one from the
// other, or builds both from one event); a bound past the real key could
// only misread that event's own fields, which its sender controls anyway.
func minHeader(ev *gateway.Event) int {
	const times = 20
	n := len(`{"id":""`) + len(ev.ID) + len(`,"seq":0`) +
		len(`,"received":"`) + times + len(`","time":"`) + times +
		len(`","source":""`) + len(ev.Source) + len(`,"sourcetype":""`) + len(ev.Sourcetype)
	if ev.Host != "" {
		n += len(`,"host":""`) + len(ev.Host)
	}
	if ev.Index != "" {
		n += len(`,"index":""`) + len(ev.Index)
	}
	return n
}

// scanObject scans the object starting at b[i] (which must be '{'),
// merging its keys against keys. members, when every wanted key is
// written verbatim (plainKeyName), are the keys as the canonical bytes
// write them (`"key":`), which the fast path compares; nil otherwise.
//
// Most keys of a flow record are wanted, so each key is first tried
// against the next wanted key as bytes of known length (one comparison,
// no search for the closing quote); only keys that are not the next
// wanted one are searched for their end, eight bytes at a time
// (endKey), and ordered against the wanted keys. Values are skipped
// with a lookup table for numbers (gateway.SkipJSONValue). This pass is
// most of extraction's cost on flow records (83 keys per CIC-IDS2017
// event).
func scanObject(b []byte, i int, keys, members []string, vals []rawValue) bool {
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	next := 0 // keys[next] is the first wanted key not yet passed
	if len(keys) == 0 {
		return true
	}
	for {
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] == ',' {
			i++
		}
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ks := i + 1
		// Fast path: the key is the next wanted one. A plain key (no
		// byte the encoder escapes, see plainKeyName) followed by a
		// quote is exactly that key: no quote or backslash can hide in
		// its bytes. So one comparison with `"key":` (members) decides.
		if m := members; m != nil && i+len(m[next]) <= len(b) && memberAt(b, i, m[next]) {
			i += len(m[next])
			// A plain decimal (most values of flow records) is parsed
			// as its end is found, one pass over its bytes; it ends
			// where gateway.SkipJSONValue would end it (none of its
			// bytes ends a scalar).
			var end int
			if i+1 < len(b) && b[i]-'0' < 10 && endsScalar[b[i+1]] {
				// One digit (0 and 1 are most values of an NSL-KDD
				// record, a third of a CIC-IDS2017 one): scanDecimal's
				// answer without its word loads and conversion.
				v := &vals[next]
				v.kind, v.parsed, v.b, v.x = rawNumber, true, b[i:i+1], float64(b[i]-'0')
				end = i + 1
			} else if i < len(b) && (b[i] == '-' || b[i]-'0' < 10) {
				x, n, ok := scanDecimal(bytesString(b[i:]))
				if end = i + n; ok && end < len(b) && endsScalar[b[end]] {
					// Field by field (vals was cleared): a composite
					// literal is built in a temporary with narrow stores
					// and copied with 16-byte loads that cannot be
					// forwarded from them, a stall that cost about a
					// tenth of a CIC-IDS2017 pair's CPU.
					v := &vals[next]
					v.kind, v.parsed, v.b, v.x = rawNumber, true, b[i:end], x
				} else {
					end = 0
				}
			}
			if end == 0 {
				var ok bool
				if end, ok = gateway.SkipJSONValue(b, i); !ok {
					return false
				}
				vals[next] = raw(b[i:end])
			}
			next++
			if next == len(keys) {
				return true // every later key sorts after the last wanted one
			}
			i = end
			continue
		}
		ke := endKey(b, ks)
		if ke < 0 || ke+1 >= len(b) || b[ke+1] != ':' {
			return false // an escape in the key (its bytes would not sort like it), or truncated
		}
		key := b[ks:ke]
		i = ke + 2
		end, ok := gateway.SkipJSONValue(b, i)
		if !ok {
			return false
		}
		// Merge: canonical keys are sorted, so a wanted key passed over
		// is absent.
		for next < len(keys) {
			k := keys[next]
			// Keys that differ in their first byte (most unwanted ones:
			// "cic.*" before "destination.*") are ordered by it without
			// a call to the runtime's string comparison.
			if len(key) > 0 && len(k) > 0 && k[0] != key[0] {
				if k[0] > key[0] {
					break
				}
				next++
				continue
			}
			if k == string(key) {
				vals[next] = raw(b[i:end])
				next++
				if next == len(keys) {
					return true
				}
				break
			}
			if k > string(key) {
				break
			}
			next++
		}
		if next == len(keys) {
			return true
		}
		i = end
	}
}

// memberAt reports whether b[i:] starts with m, which fits in b
// (i+len(m) <= len(b)). Members are 10–40 bytes: compared as 8-byte
// words, the last one overlapping the one before, without the call
// into the runtime's memequal and its dispatch on length that a string
// comparison costs for each of a flow record's 40–80 keys.
func memberAt(b []byte, i int, m string) bool {
	n := len(m)
	if n < 8 {
		return string(b[i:i+n]) == m
	}
	s := bytesString(b[i : i+n])
	for j := 0; j+8 < n; j += 8 {
		if load64(s, j) != load64(m, j) {
			return false
		}
	}
	return load64(s, n-8) == load64(m, n-8)
}

// memberNames returns keys as canonical bytes write them before their
// values (`"key":`), or nil when some key is not written verbatim
// (plainKeyName) or is empty.
func memberNames(keys []string) []string {
	ms := make([]string, len(keys))
	for i, k := range keys {
		if k == "" || !plainKeyName(k) {
			return nil
		}
		ms[i] = `"` + k + `":`
	}
	return ms
}

// plainKeyName reports whether the encoder writes key verbatim between
// quotes (gateway's canonical encoder escapes exactly the other bytes),
// so that its bytes can be compared with the canonical bytes directly.
func plainKeyName(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Bit masks for endKey's search of eight bytes at a time.
const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	quote = 0x2222222222222222 // '"' in every byte
	bslsh = 0x5c5c5c5c5c5c5c5c // '\\' in every byte
)

// endKey returns the index of the quote closing the key that starts at
// b[i] (just after its opening quote), or -1 when a backslash comes
// first or the bytes end. It tests eight bytes per step for either byte
// (the classic "has zero byte" test on x^quote and x^backslash): keys
// are 10–40 bytes, where this beats a loop per byte and two IndexByte
// calls.
func endKey(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^quote, x^bslsh
		if m := ((q-lsb)&^q | (s-lsb)&^s) & msb; m != 0 {
			// The lowest flagged byte is exact (borrows only run upward).
			j := i + bits.TrailingZeros64(m)/8
			if b[j] == '"' {
				return j
			}
			return -1
		}
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i
		case '\\':
			return -1
		}
	}
	return -1
}

// raw classifies one complete JSON value.
func raw(v []byte) rawValue {
	switch v[0] {
	case '"':
		s := v[1 : len(v)-1]
		// Escapes, and invalid UTF-8 (which decoding replaces with
		// U+FFFD), take the decoder's slow path.
		if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
			return rawValue{kind: rawEscaped, b: v}
		}
		return rawValue{kind: rawString, b: s}
	case 't':
		return rawValue{kind: rawTrue}
	case 'f':
		return rawValue{kind: rawFalse}
	case 'n':
		return rawValue{kind: rawNull}
	case '{', '[':
		return rawValue{kind: rawOther, b: v}
	}
	return rawValue{kind: rawNumber, b: v}
}

// plainKey reads the key string starting at b[i] (a '"') and the ':'
// after it, returning the key's bytes and the index after the colon. A
// key with an escape is refused (its bytes would not sort like the key).
func plainKey(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	// One pass for the closing quote and escapes: keys are short, where
	// a plain loop beats two IndexByte calls.
	j := i + 1
	for ; j < len(b) && b[j] != '"'; j++ {
		if b[j] == '\\' {
			return nil, 0, false
		}
	}
	if j >= len(b) {
		return nil, 0, false
	}
	key := b[i+1 : j]
	j = j + 1
	if j >= len(b) || b[j] != ':' {
		return nil, 0, false
	}
	return key, j + 1, true
}

// endsScalar marks the bytes that end a number or literal (true, false,
// null): one table load per byte instead of seven comparisons.
var endsScalar = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}
