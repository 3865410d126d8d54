package intel

import (
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// observedFields lists the normalised ECS-style fields whose values the
// matcher looks up, with the kind each holds. Every ingest protocol's
// normaliser (gateway/ingest/normalize) writes these names, so one list
// serves HEC, _bulk, OTLP, NDJSON and syslog alike. DNS answers are
// looked up as addresses (a name among them simply does not parse as one).
var observedFields = [...]struct {
	name string
	kind string
}{
	{"source.ip", ObservableIP},
	{"destination.ip", ObservableIP},
	{"client.ip", ObservableIP},
	{"server.ip", ObservableIP},
	{"dns.answers.data", ObservableIP},
	{"dns.question.name", wire.IndicatorDomain},
	{"url.domain", wire.IndicatorDomain},
	{"destination.domain", wire.IndicatorDomain},
	{"server.domain", wire.IndicatorDomain},
	{"tls.client.server_name", wire.IndicatorDomain},
	{"url.full", wire.IndicatorURL},
	{"url.original", wire.IndicatorURL},
	{"file.hash.sha256", wire.IndicatorSHA256},
	{"file.hash.sha1", wire.IndicatorSHA1},
	{"file.hash.md5", wire.IndicatorMD5},
	{"process.hash.sha256", wire.IndicatorSHA256},
	{"process.hash.sha1", wire.IndicatorSHA1},
	{"process.hash.md5", wire.IndicatorMD5},
	{"email.from.address", wire.IndicatorEmail},
	{"email.to.address", wire.IndicatorEmail},
	{"email.cc.address", wire.IndicatorEmail},
	{"email.sender.address", wire.IndicatorEmail},
	{"email.reply_to.address", wire.IndicatorEmail},
	{"user.email", wire.IndicatorEmail},
	{"tls.client.ja3", wire.IndicatorJA3},
	{"tls.client.ja4", wire.IndicatorJA4},
	{"user_agent.original", wire.IndicatorUserAgent},
}

// maxValuesPerField bounds how many values of one list-valued field are
// looked up, so one crafted event cannot cost unbounded lookups.
const maxValuesPerField = 64

// Observables keeps which fields it found in a 64-bit set.
var _ [64 - len(observedFields)]struct{}

// observedIndex maps each observed field name to its place in
// observedFields, and nestedRoots holds the first segment of each, so an
// event's fields are looked at once each (an event has a handful of fields,
// the list dozens of names).
var observedIndex, nestedRoots = func() (map[string]int, map[string]bool) {
	idx, roots := map[string]int{}, map[string]bool{}
	for i, f := range observedFields {
		idx[f.name] = i
		root, _, _ := strings.Cut(f.name, ".")
		roots[root] = true
	}
	return idx, roots
}()

// Observables appends to dst the observables of ev: the values of the
// fields above, in the list's order, whether the event holds them as flat
// dotted keys (what the normalisers write) or as nested objects (ECS JSON
// passed through as is; a flat key wins), as strings or lists of strings.
// Empty values are skipped.
func Observables(ev *gateway.Event, dst []Observable) []Observable {
	if len(ev.Fields) == 0 {
		return dst
	}
	var found [len(observedFields)]any
	var have uint64 // bit i: found[i] is set
	nestedToo := false
	for k, v := range ev.Fields {
		if i, ok := observedIndex[k]; ok {
			found[i], have = v, have|1<<i
		} else if _, ok := v.(map[string]any); ok && nestedRoots[k] {
			nestedToo = true
		}
	}
	if nestedToo {
		for i, f := range observedFields {
			if have&(1<<i) == 0 {
				if v, ok := nested(ev.Fields, f.name); ok {
					found[i], have = v, have|1<<i
				}
			}
		}
	}
	for i, f := range observedFields {
		if have&(1<<i) != 0 {
			dst = appendValues(dst, f.kind, f.name, found[i])
		}
	}
	return dst
}

// nested finds a dotted name in nested objects, e.g. "source.ip" in
// {"source": {"ip": …}}; a partly flat spelling such as {"source":
// {"ip.x": …}} is not looked for.
func nested(fields map[string]any, name string) (any, bool) {
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return nil, false
	}
	sub, ok := fields[name[:i]].(map[string]any)
	if !ok {
		return nil, false
	}
	rest := name[i+1:]
	if v, ok := sub[rest]; ok {
		return v, true
	}
	return nested(sub, rest)
}

func appendValues(dst []Observable, kind, field string, v any) []Observable {
	switch x := v.(type) {
	case string:
		if x != "" {
			dst = append(dst, Observable{Kind: kind, Value: x, Field: field})
		}
	case []string:
		for i, s := range x {
			if i == maxValuesPerField {
				break
			}
			if s != "" {
				dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
			}
		}
	case []any:
		for i, e := range x {
			if i == maxValuesPerField {
				break
			}
			if s, ok := e.(string); ok && s != "" {
				dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
			}
		}
	}
	return dst
}

// observablesCanonical is Observables read from an event's canonical
// bytes b instead of its decoded fields: it appends exactly what
// Observables appends for the event b decodes to (FuzzObservablesCanonical
// checks it), without a map of the event's fields, and reports false,
// appending nothing, where it leaves the answer to the decoded event: a
// member name or an observed value with an escape or with bytes a
// decoder would change (control bytes, invalid UTF-8), an object under a
// nested root (source: {ip: …}), bytes not in the canonical shape.
//
// The values it appends view b (no copy: an event's observables are
// looked up and dropped within one Detect call, and the matcher copies
// what it hashes), so they are valid only while b is neither modified
// nor released.
func observablesCanonical(b []byte, dst []Observable) ([]Observable, bool) {
	var found [len(observedFields)][]byte
	var have uint64
	refused := false
	ok := gateway.EachField(b, func(key, value []byte) {
		if refused {
			return
		}
		if i, ok := observedIndex[string(key)]; ok {
			found[i], have = value, have|1<<i
			return
		}
		if value[0] == '{' && nestedRoots[string(key)] {
			refused = true // nested spelling: the decoded event's
		}
	})
	if !ok || refused {
		return dst, false
	}
	n := len(dst)
	for i, f := range observedFields {
		if have&(1<<i) == 0 {
			continue
		}
		if dst, ok = appendRawValues(dst, f.kind, f.name, found[i]); !ok {
			return dst[:n], false
		}
	}
	return dst, true
}

// appendRawValues is appendValues on a raw JSON value: a string, or the
// strings among the first maxValuesPerField elements of an array; any
// other value gives none. ok is false for a string it does not read
// as is (plainValue).
func appendRawValues(dst []Observable, kind, field string, v []byte) ([]Observable, bool) {
	switch v[0] {
	case '"':
		s, ok := plainValue(v)
		if ok && s != "" {
			dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
		}
		return dst, ok
	case '[':
		i, n := 1, 0
		for i < len(v) && v[i] != ']' {
			end, ok := gateway.SkipJSONValue(v, i)
			if !ok || end >= len(v) {
				return dst, false
			}
			if n < maxValuesPerField && v[i] == '"' {
				s, ok := plainValue(v[i:end])
				if !ok {
					return dst, false
				}
				if s != "" {
					dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
				}
			}
			n++
			i = end
			if v[i] == ',' {
				i++
			}
		}
	}
	return dst, true
}

// plainValue returns the string the quoted JSON string q decodes to,
// viewing q's bytes, when those bytes are the string as is: no escape,
// no control byte, valid UTF-8.
func plainValue(q []byte) (string, bool) {
	s := q[1 : len(q)-1]
	ascii := true
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return "", false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return "", false
	}
	if len(s) == 0 {
		return "", true
	}
	return unsafe.String(&s[0], len(s)), true
}
