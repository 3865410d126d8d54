package wire

import (
	"strconv"
	"unicode/utf8"
)

// DecodeAlerts parses RaiseAlerts' input, a JSON array of [Alert], with
// exactly the result of Decode[[]Alert](data, what): the same alerts for
// every input that decodes, the same error for every input that does not.
//
// Why: encoding/json's reflection was about two thirds of the chaincode's
// CPU per alert under ingest load (the gateway sends about 1,000 alerts a
// transaction, to every endorser). The gateway's alerts are plain: known
// keys in their exact spelling, each once, strings without escapes,
// numbers in JSON's grammar. A small scanner decodes that form directly
// (fastAlerts) and gives up on anything else (any escape, any other key or
// spelling, a repeated key, null, a control character, invalid UTF-8, a
// value encoding/json would refuse or convert); then the strict decoder
// decides, as before. The scanner never refuses anything itself, so what
// is refused, and how, cannot change; FuzzDecodeAlerts checks that
// whatever it accepts decodes to the same value with encoding/json.
func DecodeAlerts(data []byte, what string) ([]Alert, error) {
	if len(data) <= MaxInputBytes {
		if list, ok := fastAlerts(data); ok {
			return list, nil
		}
	}
	return Decode[[]Alert](data, what)
}

// alertScanner reads the plain form of an alert array (see DecodeAlerts).
// Every method reports false when the input leaves that form.
type alertScanner struct {
	b []byte
	i int
	// last holds the previous alert's strings: a transaction's alerts
	// repeat most of them (organisation, gateway, batch, detector,
	// severity), so equal values share one string instead of allocating.
	last Alert
	// lastKeys and lastVals are the previous alert's fields in the order
	// read, keys and keys' values to share the same way (the alerts of
	// one model carry the same keys, in the same order, and often the
	// same values); keys and vals collect the current alert's.
	lastKeys, lastVals, keys, vals []string
}

func fastAlerts(b []byte) ([]Alert, bool) {
	s := alertScanner{b: b}
	s.ws()
	if !s.eat('[') {
		return nil, false
	}
	list := make([]Alert, 0, s.estimate())
	s.ws()
	if !s.eat(']') {
		for {
			s.ws()
			var a Alert
			if !s.alert(&a) {
				return nil, false
			}
			list = append(list, a)
			s.last = a
			s.lastKeys, s.keys = s.keys, s.lastKeys[:0]
			s.lastVals, s.vals = s.vals, s.lastVals[:0]
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat(']') {
				break
			}
			return nil, false
		}
	}
	s.ws()
	return list, s.i == len(s.b)
}

// estimate guesses the array's length from its size, bounded so a short
// input cannot reserve much. The gateway's alerts are 500-700 bytes of
// JSON (two 64-digit ids and a batch id alone are over 200): reserving
// for 400 leaves at most a few growths for smaller ones, where one for
// 160 (the figure before detectors and fields grew) zeroed and scanned
// three to four times the memory the list needed.
func (s *alertScanner) estimate() int {
	return min(len(s.b)/400+1, MaxAlertsPerTx)
}

func (s *alertScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *alertScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// raw returns the bytes of a string literal without its quotes, if it has
// no escape, no control character and only valid UTF-8 (what encoding/json
// would decode to the same bytes).
func (s *alertScanner) raw() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start, ascii := s.i, true
	for s.i < len(s.b) {
		s.i += plainPrefix(s.b[s.i:])
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(v) {
				return nil, false
			}
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, false
}

// str reads a plain string, sharing prev's memory when equal.
func (s *alertScanner) str(prev string) (string, bool) {
	v, ok := s.raw()
	if !ok {
		return "", false
	}
	if string(v) == prev {
		return prev, true
	}
	return string(v), true
}

// number reads a JSON number literal (RFC 8259 grammar) as float64, as
// encoding/json does (strconv.ParseFloat; out of range gives up).
func (s *alertScanner) number() (float64, bool) {
	start := s.i
	if !s.numberLiteral() {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	return f, err == nil
}

// numberLiteral passes over a number in JSON's grammar, of any size
// (encoding/json checks a number's range only when it stores it).
func (s *alertScanner) numberLiteral() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && s.digits() == 0 {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *alertScanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// object reads `{ "key": value, ... }`, calling member for each key with
// the scanner at its value; member reads the value. Keys must be plain
// strings; an empty object calls nothing.
func (s *alertScanner) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	s.ws()
	if s.eat('}') {
		return true
	}
	for {
		s.ws()
		key, ok := s.raw()
		if !ok {
			return false
		}
		s.ws()
		if !s.eat(':') {
			return false
		}
		s.ws()
		if !member(key) {
			return false
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// Bits of the alert keys seen in one object: a repeated key gives up
// (encoding/json keeps the last, and merges repeated maps).
const (
	seenID = 1 << iota
	seenMSP
	seenGatewayID
	seenEventHash
	seenBatchID
	seenEventTime
	seenDetector
	seenScore
	seenSeverity
	seenCategory
	seenAsset
	seenPrincipal
	seenFields
)

// alert reads one alert object with the keys a gateway sends, each at
// most once, in their exact spelling; any other key gives up (the
// chaincode-set ones included: Validate refuses those anyway).
func (s *alertScanner) alert(a *Alert) bool {
	seen := 0
	p := &s.last
	return s.object(func(key []byte) bool {
		var bit int
		var ok bool
		switch string(key) {
		case "id":
			bit = seenID
			a.ID, ok = s.str("")
		case "msp":
			bit = seenMSP
			a.MSP, ok = s.str(p.MSP)
		case "gatewayId":
			bit = seenGatewayID
			a.GatewayID, ok = s.str(p.GatewayID)
		case "eventHash":
			bit = seenEventHash
			a.EventHash, ok = s.str("")
		case "batchId":
			bit = seenBatchID
			a.BatchID, ok = s.str(p.BatchID)
		case "eventTime":
			bit = seenEventTime
			start := s.i
			var v []byte
			if v, ok = s.raw(); ok {
				if t, canonical := parseCanonicalTime(v); canonical {
					a.EventTime = t
				} else {
					// encoding/json hands the literal, quotes included,
					// to the field's UnmarshalJSON; so does this.
					ok = a.EventTime.UnmarshalJSON(s.b[start:s.i]) == nil
				}
			}
		case "detector":
			bit = seenDetector
			ok = s.model(&a.Detector, &p.Detector)
		case "score":
			bit = seenScore
			a.Score, ok = s.number()
		case "severity":
			bit = seenSeverity
			a.Severity, ok = s.str(p.Severity)
		case "category":
			bit = seenCategory
			a.Category, ok = s.str(p.Category)
		case "asset":
			bit = seenAsset
			a.Asset, ok = s.str(p.Asset)
		case "principal":
			bit = seenPrincipal
			a.Principal, ok = s.str(p.Principal)
		case "fields":
			bit = seenFields
			ok = s.fields(a)
		default:
			return false
		}
		// A repeated key gives up, as an unknown one does (read first,
		// as model does: giving up discards what was read).
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

// model reads a detector object (modelId, version, sha256, each at most
// once).
func (s *alertScanner) model(m, prev *Model) bool {
	seen := 0
	return s.object(func(key []byte) bool {
		var bit int
		var ok bool
		switch string(key) {
		case "modelId":
			bit = 1
			m.ID, ok = s.str(prev.ID)
		case "version":
			bit = 2
			m.Version, ok = s.str(prev.Version)
		case "sha256":
			bit = 4
			m.SHA256, ok = s.str(prev.SHA256)
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
}

// fields reads the fields object into a new map (empty but not nil for
// `{}`, as encoding/json makes it), sized for as many fields as the
// previous alert had. A repeated key gives up.
func (s *alertScanner) fields(a *Alert) bool {
	m := make(map[string]string, len(s.lastKeys))
	s.keys, s.vals = s.keys[:0], s.vals[:0]
	ok := s.object(func(key []byte) bool {
		if _, dup := m[string(key)]; dup {
			return false
		}
		var k, pv string
		if j := len(s.keys); j < len(s.lastKeys) && s.lastKeys[j] == string(key) {
			k, pv = s.lastKeys[j], s.lastVals[j]
		} else {
			k = string(key)
		}
		v, ok := s.str(pv)
		if ok {
			m[k] = v
			s.keys, s.vals = append(s.keys, k), append(s.vals, v)
		}
		return ok
	})
	a.Fields = m
	return ok
}
