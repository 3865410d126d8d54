package features

import (
	"bytes"
	"encoding/json"
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
// one comparison per key and sequential memory access.

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
	b    []byte
}

// indexKeys computes keys and slot (see Engine) after Compile.
func (e *Engine) indexKeys() {
	seen := map[string]bool{}
	for i := range e.feats {
		c := &e.feats[i]
		if c.kind == kWindow || c.pseudo || seen[c.f.Field] {
			continue
		}
		seen[c.f.Field] = true
		e.keys = append(e.keys, c.f.Field)
	}
	slices.Sort(e.keys)
	e.slot = make([]int, len(e.feats))
	for i := range e.feats {
		c := &e.feats[i]
		e.slot[i] = -1
		if c.kind != kWindow && !c.pseudo {
			e.slot[i], _ = slices.BinarySearch(e.keys, c.f.Field)
		}
	}
}

// maxStackKeys is how many distinct fields ExtractCanonical tracks
// without allocating.
const maxStackKeys = 128

// ExtractCanonical is Extract reading the fields from canonical, the
// event's canonical bytes (ev.Canonical(), as gateway.Leaf carries them
// beside the decoded event): it writes exactly the vector Extract(ev, dst)
// writes, bit for bit (FuzzExtractCanonical checks it), faster. Window
// features, pseudo-fields (@class, …) and any event whose bytes are not
// in the shape this reader expects (keys with escapes, no top-level
// object) are read from ev. The reader relies on the canonical order of
// keys (sorted, unique) to find each field with one comparison, so bytes
// that are not ev's canonical encoding give undefined vectors (never a
// panic). canonical is not modified or retained.
func (e *Engine) ExtractCanonical(ev *gateway.Event, canonical []byte, dst []float32) {
	if len(e.windows) > 0 || canonical == nil {
		e.Extract(ev, dst)
		return
	}
	var stack [maxStackKeys]rawValue
	vals := stack[:0]
	if len(e.keys) > len(stack) {
		vals = make([]rawValue, 0, len(e.keys))
	}
	vals = vals[:len(e.keys)]
	if !scanFields(canonical, e.keys, vals) {
		e.Extract(ev, dst)
		return
	}
	for i := range e.feats {
		c := &e.feats[i]
		if k := e.slot[i]; k >= 0 {
			c.fromRaw(vals[k], dst)
			continue
		}
		v, _ := stringField(ev, c.f.Field) // a pseudo-field
		c.putString(v, dst)
	}
}

// fromRaw is fromValue on a raw value: the same columns the decoded value
// (json.Number for numbers) would give.
func (c *compiled) fromRaw(r rawValue, dst []float32) {
	if c.kind == kNumeric {
		switch r.kind {
		case rawNumber:
			x, ok := parseNumber(bytesString(r.b))
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

// scanFields finds, in the canonical event b, the values of the keys
// (sorted) inside its top-level "fields" object, writing vals[i] for
// keys[i] (rawAbsent when missing). It stops after "fields": canonical
// field order puts only raw and labels after it. It reports false when b
// is not in the expected shape (canonical bytes have no whitespace, so
// any is refused); vals are then meaningless.
func scanFields(b []byte, keys []string, vals []rawValue) bool {
	for i := range vals {
		vals[i] = rawValue{}
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
			return scanObject(b, i, keys, vals)
		}
		var end int
		if end, ok = skipValue(b, i); !ok {
			return false
		}
		i = end
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// scanObject scans the object starting at b[i] (which must be '{'),
// merging its keys against keys.
func scanObject(b []byte, i int, keys []string, vals []rawValue) bool {
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
		key, j, ok := plainKey(b, i)
		if !ok {
			return false
		}
		i = j
		end, ok := skipValue(b, i)
		if !ok {
			return false
		}
		// Merge: canonical keys are sorted, so a wanted key passed over
		// is absent. Most keys of a flow record are wanted: try equality
		// first.
		for next < len(keys) {
			k := keys[next]
			if k == string(key) {
				vals[next] = raw(b[i:end])
				next++
				if next == len(keys) {
					return true // every later key sorts after the last wanted one
				}
				break
			}
			if k > string(key) {
				break
			}
			next++
		}
		i = end
	}
}

// raw classifies one complete JSON value.
func raw(v []byte) rawValue {
	switch v[0] {
	case '"':
		s := v[1 : len(v)-1]
		// Escapes, and invalid UTF-8 (which decoding replaces with
		// U+FFFD), take the decoder's slow path.
		if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
			return rawValue{rawEscaped, v}
		}
		return rawValue{rawString, s}
	case 't':
		return rawValue{kind: rawTrue}
	case 'f':
		return rawValue{kind: rawFalse}
	case 'n':
		return rawValue{kind: rawNull}
	case '{', '[':
		return rawValue{rawOther, v}
	}
	return rawValue{rawNumber, v}
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

// skipValue returns the index just after the JSON value starting at b[i].
// It checks only what it needs to find the end (the canonical bytes were
// written by encoding/json).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, j > i
		}
		j++
	}
	return 0, false
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) (int, bool) {
	j := i + 1
	for {
		n := bytes.IndexByte(b[j:], '"')
		if n < 0 {
			return 0, false
		}
		j += n
		bs := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return j + 1, true
		}
		j++
	}
}
