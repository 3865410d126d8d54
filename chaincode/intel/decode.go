package intel

import (
	"strconv"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// A fast path for the two inputs of a share, decoded by every endorser
// for every indicator: its records (wire.IndicatorShare) and its values
// ([]wire.IndicatorValue). encoding/json spends most of a share's own
// chaincode time on them (reflection, a validating pass before the
// decoding one). The fast path reads the shapes the gateway writes —
// known members, each once, strings, integers, arrays of strings —
// without reflection; on anything else (an unknown or repeated member,
// null, a boolean, a number that is not a plain integer, a \u escape of
// a surrogate, invalid UTF-8, bad syntax) it gives up and wire.Decode
// decodes the input, so what is accepted, and every error, stays
// wire.Decode's. FuzzFastDecode checks that whatever the fast path
// accepts, wire.Decode accepts as the same value.

// decodeShare decodes a share's records like wire.Decode.
func decodeShare(b []byte) (wire.IndicatorShare, error) {
	if len(b) <= wire.MaxInputBytes {
		d := scan{b: b}
		if s, ok := d.share(); ok && d.end() {
			return s, nil
		}
	}
	return wire.Decode[wire.IndicatorShare](b, "share")
}

// decodeValues decodes a share's values like wire.Decode; what names the
// input in errors.
func decodeValues(b []byte, what string) ([]wire.IndicatorValue, error) {
	if len(b) <= wire.MaxInputBytes {
		d := scan{b: b}
		if vs, ok := d.values(); ok && d.end() {
			return vs, nil
		}
	}
	return wire.Decode[[]wire.IndicatorValue](b, what)
}

// scan reads JSON from b at i; every method reports ok false where the
// fast path gives up.
type scan struct {
	b []byte
	i int
}

func (d *scan) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end reports whether only whitespace is left.
func (d *scan) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// byte_ consumes c after whitespace.
func (d *scan) byte_(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peek returns the next byte after whitespace (0 at the end).
func (d *scan) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// str reads a string.
func (d *scan) str() (string, bool) {
	if !d.byte_('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// escaped reads the rest of a string that holds escapes, from start.
func (d *scan) escaped(start int) (string, bool) {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(out) {
				return "", false
			}
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", false
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if d.i+4 > len(d.b) {
				return "", false
			}
			r, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 32)
			if err != nil || r >= 0xd800 && r <= 0xdfff {
				return "", false // surrogates: encoding/json's rules
			}
			out = utf8.AppendRune(out, rune(r))
			d.i += 4
		default:
			return "", false
		}
	}
	return "", false
}

// int reads a plain integer (no fraction or exponent).
func (d *scan) int() (int, bool) {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || d.b[digits] == '0' && d.i-digits > 1 {
		return 0, false
	}
	if d.i < len(d.b) {
		if c := d.b[d.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 0)
	return int(n), err == nil
}

// strs reads an array of strings ([] is an empty, non-nil slice, as
// encoding/json decodes it).
func (d *scan) strs() ([]string, bool) {
	if !d.byte_('[') {
		return nil, false
	}
	out := []string{}
	if d.byte_(']') {
		return out, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.byte_(']') {
			return out, true
		}
		if !d.byte_(',') {
			return nil, false
		}
	}
}

// time reads a wire.Time: a string without escapes (wire.Time decodes
// the raw text).
func (d *scan) time() (wire.Time, bool) {
	start := d.i
	s, ok := d.str()
	if !ok {
		return wire.Time{}, false
	}
	raw := d.b[start:d.i]
	for _, c := range raw {
		if c == '\\' {
			return wire.Time{}, false
		}
	}
	t, err := wire.ParseTime(s)
	return t, err == nil
}

// object reads an object, calling member for each member name (after
// its colon); a name seen twice gives up.
func (d *scan) object(member func(name string) bool) bool {
	if !d.byte_('{') {
		return false
	}
	if d.byte_('}') {
		return true
	}
	var seen []string
	for {
		name, ok := d.str()
		if !ok || !d.byte_(':') {
			return false
		}
		for _, s := range seen {
			if s == name {
				return false
			}
		}
		seen = append(seen, name)
		if !member(name) {
			return false
		}
		if d.byte_('}') {
			return true
		}
		if !d.byte_(',') {
			return false
		}
	}
}

// array reads an array, calling elem for each element.
func (d *scan) array(elem func() bool) bool {
	if !d.byte_('[') {
		return false
	}
	if d.byte_(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.byte_(']') {
			return true
		}
		if !d.byte_(',') {
			return false
		}
	}
}

func (d *scan) share() (wire.IndicatorShare, bool) {
	var s wire.IndicatorShare
	ok := d.object(func(name string) bool {
		if name != "indicators" || d.peek() != '[' {
			return false
		}
		s.Indicators = []wire.Indicator{}
		return d.array(func() bool {
			var ind wire.Indicator
			if !d.indicator(&ind) {
				return false
			}
			s.Indicators = append(s.Indicators, ind)
			return true
		})
	})
	return s, ok
}

func (d *scan) indicator(ind *wire.Indicator) bool {
	return d.object(func(name string) bool {
		var ok bool
		switch name {
		case "id":
			ind.ID, ok = d.str()
		case "hash":
			ind.Hash, ok = d.str()
		case "keyId":
			ind.KeyID, ok = d.str()
		case "type":
			ind.Type, ok = d.str()
		case "confidence":
			ind.Confidence, ok = d.int()
		case "tlp":
			ind.TLP, ok = d.str()
		case "recipients":
			ind.Recipients, ok = d.strs()
		case "validFrom":
			ind.ValidFrom, ok = d.time()
		case "validUntil":
			ind.ValidUntil, ok = d.time()
		case "techniques":
			ind.Techniques, ok = d.strs()
		case "killChainPhase":
			ind.KillChainPhase, ok = d.str()
		case "stixId":
			ind.StixID, ok = d.str()
		case "valueHash":
			ind.ValueHash, ok = d.str()
		case "sharedBy":
			ind.SharedBy, ok = d.str()
		}
		// Any other member (the fields the ledger sets, which Validate
		// refuses, or an unknown one) is left to wire.Decode.
		return ok
	})
}

func (d *scan) values() ([]wire.IndicatorValue, bool) {
	if d.peek() != '[' {
		return nil, false
	}
	out := []wire.IndicatorValue{}
	ok := d.array(func() bool {
		var v wire.IndicatorValue
		if !d.object(func(name string) bool {
			var ok bool
			switch name {
			case "id":
				v.ID, ok = d.str()
			case "hash":
				v.Hash, ok = d.str()
			case "type":
				v.Type, ok = d.str()
			case "value":
				v.Value, ok = d.str()
			case "salt":
				v.Salt, ok = d.str()
			case "stix":
				v.Stix, ok = d.str()
			}
			return ok
		}) {
			return false
		}
		out = append(out, v)
		return true
	})
	return out, ok
}
