package gateway

import (
	"bytes"
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// ReadHeader reads an event's header (ID, Seq, Received, Time, Source,
// Sourcetype, Host, Index, Class) from its canonical bytes, leaving Fields,
// Raw and Labels unset, without decoding the rest of the event: the
// alerter scores every event from its canonical bytes and needs the
// decoded fields of only the few it flags (see HeaderLeaf).
//
// It reads the header in the one order Canonical writes it, each string
// only when its bytes need no unescaping (no backslash, no control byte,
// valid UTF-8: a decoder returns such bytes as they are), the times with
// time.Time's own UnmarshalJSON (what decoding the event calls), and
// requires the header to end where Canonical ends it (at "fields" or
// "raw"). It reports false for anything else; the caller then decodes
// the event whole, which also produces the error for bytes that are not
// an event. For the canonical bytes of an event, what it returns is the
// header of the event that decoding them gives (the store's
// FuzzReadHeader checks it against the store's decoder); it does not
// look past the header, so it is meant for bytes the log wrote itself
// (checksummed), not for any input.
//
// intern, when not nil, returns the string of the bytes it is given for
// Source, Sourcetype, Host, Index and Class, so a reader of many events
// can share the few distinct values they hold rather than allocate them
// per event (see Interner); it must not retain the bytes. The ID is
// always a fresh string: it is unique, and holding it must not hold the
// bytes it was read from.
func ReadHeader(b []byte, intern func([]byte) string) (Event, bool) {
	if intern == nil {
		intern = func(b []byte) string { return string(b) }
	}
	var e Event
	r := headerReader{b: b, ok: true}
	r.lit(`{"id":`)
	e.ID = r.str(nil)
	r.lit(`,"seq":`)
	e.Seq = r.uint()
	r.lit(`,"received":`)
	at := r.i
	e.Received = r.time()
	received := r.b[at:r.i]
	r.lit(`,"time":`)
	// An event without a time of its own has its received time: the same
	// bytes, the same time.
	if r.ok && len(received) > 0 && len(r.b)-r.i >= len(received) && string(r.b[r.i:r.i+len(received)]) == string(received) {
		e.Time = e.Received
		r.i += len(received)
	} else {
		e.Time = r.time()
	}
	r.lit(`,"source":`)
	e.Source = r.str(intern)
	r.lit(`,"sourcetype":`)
	e.Sourcetype = r.str(intern)
	if r.opt(`,"host":`) {
		e.Host = r.str(intern)
	}
	if r.opt(`,"index":`) {
		e.Index = r.str(intern)
	}
	r.lit(`,"class":`)
	e.Class = Class(r.str(intern))
	if !r.ok || !(r.opt(`,"fields":{`) || r.opt(`,"raw":`)) {
		return Event{}, false
	}
	return e, true
}

// headerReader reads the header's members in order; ok turns false at
// the first thing it does not expect, after which every read is a no-op.
type headerReader struct {
	b  []byte
	i  int
	ok bool
}

// lit reads the literal s.
func (r *headerReader) lit(s string) {
	if !r.opt(s) {
		r.ok = false
	}
}

// opt reads the literal s if it comes next, and says whether it did.
func (r *headerReader) opt(s string) bool {
	if !r.ok || len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// quoted reads a string that needs no unescaping and returns its bytes.
// It looks at eight bytes at a time while they are all printable ASCII
// other than the quote and the backslash (an event ID is 64 of those),
// and at one at a time from the first that is not.
func (r *headerReader) quoted() []byte {
	if !r.ok || r.i >= len(r.b) || r.b[r.i] != '"' {
		r.ok = false
		return nil
	}
	start := r.i + 1
	j := start
	for ; j+8 <= len(r.b) && plainWord(binary.LittleEndian.Uint64(r.b[j:])); j += 8 {
	}
	ascii := true
	for ; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			s := r.b[start:j]
			if !ascii && !utf8.Valid(s) {
				r.ok = false
				return nil
			}
			r.i = j + 1
			return s
		case c < 0x20 || c == '\\':
			r.ok = false
			return nil
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	r.ok = false
	return nil
}

// plainWord reports whether the eight bytes of w are all ASCII, none a
// control byte, a quote or a backslash (the bit tricks of "Bit Twiddling
// Hacks": a byte below n sets its high bit in (w - n*ones) &^ w; a byte
// equal to c is a zero byte of w ^ c*ones).
func plainWord(w uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	below := func(x uint64, n uint64) uint64 { return (x - n*ones) &^ x & high }
	return (w&high | below(w, 0x20) | below(w^'"'*ones, 1) | below(w^'\\'*ones, 1)) == 0
}

// str reads a string, through intern when not nil.
func (r *headerReader) str(intern func([]byte) string) string {
	s := r.quoted()
	if !r.ok {
		return ""
	}
	if intern != nil {
		return intern(s)
	}
	return string(s)
}

// Interner shares strings among the headers ReadHeader reads: a header's
// source, sourcetype, host, index and class take few distinct values
// over many events (hosts rotate, so sharing the previous event's is not
// enough). Its map holds at most max distinct strings, later ones
// allocated as usual; a cache of the 64 most recently returned strings
// may keep up to 64 more alive. The zero value is not usable: use NewInterner. Not
// safe for concurrent use.
type Interner struct {
	m   map[string]string
	max int
	// last holds recently returned strings by a hash of their length and
	// first, middle and last bytes: a header's few values mostly hit
	// here, one comparison instead of hashing the bytes for the map.
	last [64]string
}

// NewInterner returns an Interner holding at most max strings.
func NewInterner(max int) *Interner {
	return &Interner{m: make(map[string]string, min(max, 64)), max: max}
}

// Intern returns the string of b, shared with an earlier equal one when
// the interner holds it. It does not retain b.
func (in *Interner) Intern(b []byte) string {
	h := len(b) * 7
	if len(b) > 0 {
		h += int(b[0]) + int(b[len(b)/2])*3 + int(b[len(b)-1])*5
	}
	last := &in.last[h%len(in.last)]
	if *last == string(b) {
		return *last
	}
	s, ok := in.m[string(b)]
	if !ok {
		s = string(b)
		if len(in.m) < in.max {
			in.m[s] = s
		}
	}
	*last = s
	return s
}

// uint reads an unsigned decimal as JSON writes it (no sign, no leading
// zero, no fraction or exponent) that fits in 64 bits.
func (r *headerReader) uint() uint64 {
	if !r.ok {
		return 0
	}
	var x uint64
	j := r.i
	for ; j < len(r.b) && r.b[j]-'0' < 10; j++ {
		d := uint64(r.b[j] - '0')
		if x > (1<<64-1-d)/10 {
			r.ok = false
			return 0
		}
		x = x*10 + d
	}
	if j == r.i || (r.b[r.i] == '0' && j > r.i+1) || j >= len(r.b) || r.b[j] != ',' {
		r.ok = false
		return 0
	}
	r.i = j
	return x
}

// time reads a time as decoding the event does: time.Time.UnmarshalJSON
// on the quoted string, or parseUTC for the UTC times the event's
// encoder writes, which returns what UnmarshalJSON does on them.
func (r *headerReader) time() time.Time {
	start := r.i
	s := r.quoted()
	if !r.ok {
		return time.Time{}
	}
	if t, ok := parseUTC(s); ok {
		return t
	}
	var t time.Time
	if t.UnmarshalJSON(r.b[start:r.i]) != nil {
		r.ok = false
	}
	return t
}

// parseUTC parses the layout time.Time.MarshalJSON writes for a UTC time,
// "YYYY-MM-DDTHH:MM:SS[.F]Z" with one to nine fraction digits, and every
// field within its range (the day within its month), into the time
// UnmarshalJSON returns for it: time.Date in UTC. It reports false for
// anything else (another zone, more digits, a field out of range), which
// the caller leaves to UnmarshalJSON, so it never decides what
// UnmarshalJSON would refuse. UnmarshalJSON's general RFC 3339 parser was
// a third of ReadHeader's CPU (two times per event). FuzzParseUTC checks
// it against UnmarshalJSON.
func parseUTC(s []byte) (time.Time, bool) {
	const date = len("2006-01-02T15:04:05")
	if len(s) < date+1 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > wire.DaysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[date : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		f, ok := digits(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		nsec = f
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// digits reads b, one to nine decimal digits, as a number.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c-'0' > 9 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// EachField calls fn with each member of the "fields" object of an
// event's canonical bytes b, in the order written (sorted by key): key is
// the member name's bytes between its quotes, value the member's JSON
// value as written. It is for readers that want a few fields of every
// event without decoding its fields into a map (the intel matcher's
// observables). It reports false, possibly after calling fn for some
// members, when b is not in the shape Canonical writes (no "fields" or
// "raw" after the header's class, a member name with an escape, whose
// bytes would not be its name, or a truncated value); the caller then
// reads the decoded event instead. An event without fields reports true
// without calling fn. Values are delimited, not validated: b must be
// canonical bytes the log wrote (see ReadHeader).
func EachField(b []byte, fn func(key, value []byte)) bool {
	// No header string holds `,"` (a quote inside a string is escaped),
	// so the first `,"class":` is the class key, and "fields" or, for an
	// event without fields, "raw" follows its value.
	p := bytes.Index(b, []byte(`,"class":`))
	if p < 0 {
		return false
	}
	i, ok := skipJSONString(b, p+len(`,"class":`))
	if !ok {
		return false
	}
	switch rest := b[i:]; {
	case bytes.HasPrefix(rest, []byte(`,"raw":`)):
		return true
	case !bytes.HasPrefix(rest, []byte(`,"fields":{`)):
		return false
	}
	i += len(`,"fields":{`)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		k := bytes.IndexByte(b[i+1:], '"')
		if k < 0 {
			return false
		}
		key := b[i+1 : i+1+k]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		j := i + 1 + k + 1
		if j >= len(b) || b[j] != ':' {
			return false
		}
		end, ok := SkipJSONValue(b, j+1)
		if !ok || end >= len(b) {
			return false
		}
		fn(key, b[j+1:end])
		switch b[end] {
		case ',':
			i = end + 1
		case '}':
			return true
		default:
			return false
		}
	}
}

// endsScalar marks the bytes that end a number or literal (true, false,
// null): one table load per byte instead of seven comparisons, which
// counts where features.Engine skips the fields a model does not read.
var endsScalar = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}

// SkipJSONValue returns the index just after the JSON value starting at
// b[i], finding its end only (strings by their closing quote, objects
// and arrays by their brackets outside strings, scalars by the byte that
// ends them); false when b ends first. It does not validate the value.
func SkipJSONValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipJSONString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipJSONString(b, i)
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
	for j := i; j < len(b); j++ {
		if endsScalar[b[j]] {
			return j, j > i
		}
	}
	return 0, false
}

// skipJSONString returns the index after the string starting at b[i],
// which must be '"'.
func skipJSONString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
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
