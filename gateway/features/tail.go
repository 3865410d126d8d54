package features

import (
	"bytes"
	"encoding/base64"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Reading the last members of "fields" backward, from the end of the
// event.
//
// A batch of events is larger than the caches, so the first touch of each
// cache line of an event costs a trip to memory, and reading a 2.6 KB
// CIC-IDS2017 record costs 400–900 ns even at vector speed, whatever the
// reader does with the bytes. A model that reads the common ECS fields
// (destination.*, source.*) of such a record wants the last few members
// of "fields": canonical keys are sorted, and vendor fields (cic.*,
// kdd.*) often sort first. So the reader first walks the members
// backward from the end of "fields", whose position the event itself
// gives (fieldsClose), touching the last cache lines only; when the
// first few members from the end are not wanted it leaves the rest to
// the forward reader.

// tailProbe is how many members from the end scanTail reads without
// finding a wanted one before it hands over to the forward reader.
const tailProbe = 4

// maxTailKeys is the most keys an engine may read for scanFields to try
// scanTail. Backward reading costs about as much per member as forward
// reading, and an engine reading more fields reads most of its events'
// members whichever way (flow models read all 41 or 83), where the
// forward reader's one comparison per wanted member is cheapest.
const maxTailKeys = 16

// tailBudget is how many members scanTail reads for len(keys) wanted
// keys before it hands the rest over to the forward reader: wanted keys
// at both ends of "fields" must not make it read the whole object
// backward.
func tailBudget(keys int) int { return tailProbe + 4*keys }

// tryTail reports whether scanFields reads the end of b's "fields"
// first. A wrong guess costs more than the members read: the event's
// last cache lines come from memory for nothing (about as much as
// reading the members). So the engine remembers whether the last event
// it tried had wanted members at its end (events of one source share
// their layout, and a batch holds many of one source) and, when it had
// not, tries again only on about one event in 32 (chosen by its length
// and sequence number, so no shared counter is written), in case the
// layout of the events changed. Which reader runs never changes a
// result, only its cost.
func (e *Engine) tryTail(b []byte, ev *gateway.Event) bool {
	return !e.tailMiss.Load() || (uint64(len(b))^ev.Seq)%32 == 0
}

// fieldsClose returns the index of the '}' that closes the "fields"
// object of b, ev's canonical bytes, computed from the end: the
// canonical encoder writes "raw" (null, or the base64 of ev.Raw) right
// after "fields" and, when ev has none, no "labels" after it. It reports
// false when ev has labels (their length would have to be computed) or
// the bytes there are not `},"raw":`.
func fieldsClose(b []byte, ev *gateway.Event) (int, bool) {
	if len(ev.Labels) > 0 {
		return 0, false
	}
	tail := len(`,"raw":null}`)
	if ev.Raw != nil {
		tail = len(`,"raw":""}`) + base64.StdEncoding.EncodedLen(len(ev.Raw))
	}
	c := len(b) - tail - 1
	if c < 1 || b[c] != '}' || !bytes.HasPrefix(b[c+1:], rawKey) {
		return 0, false
	}
	return c, true
}

// scanTail reads backward the members of the object closing at b[close],
// merging their keys (plain, sorted) against keys from the largest down
// and writing vals as scanObject would. It returns hi: keys[hi:] are
// resolved (found or certainly absent), keys[:hi] are left to the forward
// reader (hi 0: every key is resolved); took says whether any member
// read was wanted. It stops after tailProbe members when none of them
// was wanted; once one was, it reads on until every key is resolved or
// tailBudget members were read. ok is false when the bytes are not in
// the expected shape (a key with an escape, whose bytes would not sort
// like it); vals are then meaningless.
func scanTail(b []byte, close int, keys []string, vals []rawValue) (hi int, took, ok bool) {
	hi = len(keys)
	q, seen := close, 0
	for hi > 0 {
		if q < 1 || b[q-1] == '{' {
			return 0, took, true // the object's first member was read: the rest are absent
		}
		key, vs, prev, ok := prevMember(b, q)
		if !ok {
			return 0, false, false
		}
		for hi > 0 && keys[hi-1] > string(key) {
			hi-- // sorted keys: a wanted key above this one would have come already
		}
		if hi > 0 && keys[hi-1] == string(key) {
			hi--
			vals[hi] = raw(b[vs:q])
			took = true
		}
		if seen++; !took && seen >= tailProbe || seen >= tailBudget(len(keys)) {
			return hi, took, true
		}
		if b[prev] == '{' {
			return 0, took, true
		}
		q = prev
	}
	return 0, took, true
}

// prevMember reads backward the member whose value ends just before b[q]
// (the ',' or '}' after it): its key's bytes, where its value starts, and
// the index of the ',' or '{' before it. Reading JSON backward from a
// known structural byte is unambiguous: a quote met outside a string
// closes one, and the quote opening it is the nearest one before it
// preceded by an even run of backslashes (inside a string every quote is
// escaped). ok is false when the key holds a backslash or the bytes are
// not in that shape.
func prevMember(b []byte, q int) (key []byte, vs, prev int, ok bool) {
	j := q - 1
	switch b[j] {
	case '"':
		vs = openQuote(b, j)
	case '}', ']':
		vs = openBracket(b, j)
	default: // a number or literal: none holds a colon
		vs = bytes.LastIndexByte(b[:j], ':') + 1
	}
	if vs < 2 || b[vs-1] != ':' || b[vs-2] != '"' {
		return nil, 0, 0, false
	}
	ke := vs - 2
	ks := bytes.LastIndexByte(b[:ke], '"')
	if ks < 1 || bytes.IndexByte(b[ks:ke], '\\') >= 0 || b[ks-1] == '\\' {
		return nil, 0, 0, false
	}
	if c := b[ks-1]; c != ',' && c != '{' {
		return nil, 0, 0, false
	}
	return b[ks+1 : ke], vs, ks - 1, true
}

// openQuote returns the index of the quote opening the string whose
// closing quote is b[j], or -1.
func openQuote(b []byte, j int) int {
	for {
		j = bytes.LastIndexByte(b[:j], '"')
		if j < 0 || evenBackslashes(b, j) {
			return j
		}
	}
}

// openBracket returns the index of the '{' or '[' matching the '}' or
// ']' at b[j], or -1.
func openBracket(b []byte, j int) int {
	depth := 0
	for ; j >= 0; j-- {
		switch b[j] {
		case '"':
			if j = openQuote(b, j); j < 0 {
				return -1
			}
		case '}', ']':
			depth++
		case '{', '[':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

// evenBackslashes reports whether the backslashes right before b[p] are
// an even number (none included): b[p] is then not escaped.
func evenBackslashes(b []byte, p int) bool {
	n := 0
	for p--; p >= 0 && b[p] == '\\'; p-- {
		n++
	}
	return n%2 == 0
}
