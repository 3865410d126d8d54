package wire

import (
	"encoding/json"
	"strings"
)

// StoredAlertSetIDs calls each with the id of every alert, then of every
// merged detection, of a stored set's value (either form, see
// DecodeStoredAlertSet), in stored order. Its result is exactly that of
// DecodeStoredAlertSet into a struct holding only those ids: the same ids
// and the same error.
//
// Why: RaiseAlerts reads a batch's earlier sets for the idempotency
// check, and decoding a 1,000-alert set with encoding/json (which must
// scan all of it) cost about as much as raising 1,000 alerts. A set as
// the chaincode writes it is plain JSON; a small scanner skims it for the
// ids (skimSetIDs) and gives up on anything it does not know to read as
// encoding/json would (an escape in a key or an id, a key that only
// case-folds to "alerts", "merged" or "id", a repeated key, null, deep
// nesting, anything invalid); then encoding/json decides, as before.
// FuzzStoredAlertSetIDs checks the two against each other.
func StoredAlertSetIDs(value []byte, each func(id string)) error {
	data, err := StoredAlertSetJSON(value)
	if err != nil {
		return err
	}
	if alerts, merged, ok := skimSetIDs(data); ok {
		for _, id := range alerts {
			each(id)
		}
		for _, id := range merged {
			each(id)
		}
		return nil
	}
	var s storedSetIDs
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	for _, a := range s.Alerts {
		each(a.ID)
	}
	for _, a := range s.Merged {
		each(a.ID)
	}
	return nil
}

// storedSetIDs is the part of an AlertSet StoredAlertSetIDs reads.
type storedSetIDs struct {
	Alerts []struct {
		ID string `json:"id"`
	} `json:"alerts"`
	Merged []struct {
		ID string `json:"id"`
	} `json:"merged"`
}

// maxSkimDepth bounds the nesting the skimmer follows (encoding/json's is
// 10,000; a set nests four deep): deeper input is left to encoding/json.
const maxSkimDepth = 64

// skimmer reads JSON for skimSetIDs; every method reports false when the
// input leaves the form it reads exactly as encoding/json would.
type skimmer struct {
	alertScanner
	depth int
}

func skimSetIDs(b []byte) (alerts, merged []string, ok bool) {
	s := skimmer{alertScanner: alertScanner{b: b}}
	s.ws()
	seenAlerts, seenMerged := false, false
	ok = s.object(func(key []byte) bool {
		switch k := string(key); {
		case k == "alerts":
			if seenAlerts {
				return false
			}
			seenAlerts = true
			var good bool
			alerts, good = s.ids()
			return good
		case k == "merged":
			if seenMerged {
				return false
			}
			seenMerged = true
			var good bool
			merged, good = s.ids()
			return good
		case strings.EqualFold(k, "alerts"), strings.EqualFold(k, "merged"), !ascii(key):
			return false // encoding/json would fold it onto a field
		}
		return s.skip()
	})
	if !ok {
		return nil, nil, false
	}
	s.ws()
	return alerts, merged, s.i == len(s.b)
}

// ids reads an array of objects (or null), returning each one's "id" (""
// when it has none, as encoding/json leaves it).
func (s *skimmer) ids() ([]string, bool) {
	if s.literal("null") {
		return nil, true // encoding/json: a nil slice
	}
	if !s.eat('[') {
		return nil, false
	}
	out := make([]string, 0, min(len(s.b)/64+1, 4096))
	s.ws()
	if s.eat(']') {
		return out, true
	}
	for {
		s.ws()
		id, seen := "", false
		ok := s.object(func(key []byte) bool {
			switch k := string(key); {
			case k == "id":
				if seen {
					return false
				}
				seen = true
				var ok bool
				id, ok = s.str("")
				return ok
			case strings.EqualFold(k, "id"), !ascii(key):
				return false
			}
			return s.skip()
		})
		if !ok {
			return nil, false
		}
		out = append(out, id)
		s.ws()
		if s.eat(',') {
			continue
		}
		return out, s.eat(']')
	}
}

// skip passes over one JSON value, checking its syntax as encoding/json's
// scanner does (strings may hold any bytes but control characters, and
// only JSON's escapes).
func (s *skimmer) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		if s.depth++; s.depth > maxSkimDepth {
			return false
		}
		defer func() { s.depth-- }()
		if c == '{' {
			return s.object(func([]byte) bool { return s.skip() })
		}
		s.i++
		s.ws()
		if s.eat(']') {
			return true
		}
		for {
			s.ws()
			if !s.skip() {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.numberLiteral()
	}
	return false
}

func (s *skimmer) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *skimmer) skipString() bool {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		s.i++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i >= len(s.b) {
				return false
			}
			e := s.b[s.i]
			s.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 4 {
					return false
				}
				for _, h := range s.b[s.i : s.i+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
