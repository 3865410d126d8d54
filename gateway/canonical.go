package gateway

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// This file is Event.Canonical's encoder. The canonical bytes are the
// Merkle leaf, so they are defined as exactly what encoding/json.Marshal
// writes for the Event (struct fields in declaration order, map keys
// sorted, HTML-safe string escaping, times in RFC 3339 with nanoseconds).
// Marshal walks the value by reflection and sorts map keys through
// reflect.Value, which profiling put at 17–27 % of the gateway's CPU under
// ingest load, so the encoder writes the shapes ingest produces directly
// and hands everything else to encoding/json itself:
//
//   - strings made only of printable ASCII other than `"`, `\`, `<`, `>`
//     and `&` are copied between quotes (encoding/json writes them so);
//     any other string is encoded by encoding/json;
//   - float64 uses encoding/json's own rule ('f' format unless the
//     exponent is below -6 or at least 21, exponent without leading zero);
//   - json.Number is written as its digits when valid, ints and uints as
//     decimal, booleans and nil as literals;
//   - maps and slices of those recurse; any other type, a non-finite
//     float, an invalid json.Number or a time outside RFC 3339's range
//     goes to encoding/json (which also produces the error, if any).
//
// An event whose FieldsCanonical is set (by ingest's decoder, which wrote
// it from the client's bytes) has those bytes spliced in for its fields,
// whether or not it also carries them as Fields:
// the decoder copies numbers and plain strings as written and encodes
// everything else with AppendFieldValue, the encoder below, and its fuzz
// test (ingest.FuzzDecoderCanonical) checks the result equals this
// encoder's for the same Fields.
//
// So the result is byte for byte encoding/json's by construction for what
// falls back, and TestCanonicalMatchesMarshal / FuzzCanonical check it for
// the rest, including that the list of Event's fields here is still the
// struct's.

// canonicalDepth bounds the direct encoder's recursion; deeper values are
// encoded by encoding/json.
const canonicalDepth = 32

// appendCanonical appends e's canonical encoding (e's times already in
// UTC) to dst. ok is false when some part of e needs encoding/json's
// error handling (an invalid time or value): the caller then marshals
// the whole event with encoding/json to get its exact error. sized is
// true when canonicalSize accepted e: its times are then in range and
// its header strings plain, which this need not check again.
func appendCanonical(dst []byte, e *Event, sized bool) ([]byte, bool) {
	if !sized && (!timeOK(e.Received) || !timeOK(e.Time)) {
		return dst, false
	}
	str := appendJSONString
	if sized {
		str = appendPlainString
	}
	dst = append(dst, `{"id":`...)
	dst = str(dst, e.ID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"received":"`...)
	at := len(dst)
	dst = e.Received.AppendFormat(dst, time.RFC3339Nano)
	received := len(dst)
	dst = append(dst, `","time":"`...)
	if e.Time.Equal(e.Received) {
		// The same instant, both in UTC: the same text. An event that
		// carries no time of its own (most of ingest's) has its receive
		// time as its time, and formatting it is the encoder's second
		// largest cost after the raw's base64.
		dst = append(dst, dst[at:received]...)
	} else {
		dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	}
	dst = append(dst, `","source":`...)
	dst = str(dst, e.Source)
	dst = append(dst, `,"sourcetype":`...)
	dst = str(dst, e.Sourcetype)
	if e.Host != "" {
		dst = append(dst, `,"host":`...)
		dst = str(dst, e.Host)
	}
	if e.Index != "" {
		dst = append(dst, `,"index":`...)
		dst = str(dst, e.Index)
	}
	dst = append(dst, `,"class":`...)
	dst = str(dst, string(e.Class))
	if e.FieldsCanonical != nil {
		// Fields may be nil (ingest's map-free path): the bytes are the
		// fields. "{}", an empty object, is omitted as empty Fields are.
		if len(e.FieldsCanonical) > len("{}") {
			dst = append(dst, `,"fields":`...)
			dst = append(dst, e.FieldsCanonical...)
		}
	} else if len(e.Fields) > 0 {
		dst = append(dst, `,"fields":`...)
		var ok bool
		if dst, ok = appendJSONMap(dst, e.Fields, 0); !ok {
			return dst, false
		}
	}
	dst = append(dst, `,"raw":`...)
	if e.Raw == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = appendBase64(dst, e.Raw)
		dst = append(dst, '"')
	}
	if len(e.Labels) > 0 {
		dst = append(dst, `,"labels":`...)
		dst = appendStringMap(dst, e.Labels)
	}
	return append(dst, '}'), true
}

// canonicalSize returns the exact length of e's canonical encoding (e's
// times already in UTC) for the shape ingest produces, false for any
// other: fields as FieldsCanonical (or none), no labels, header strings
// encoding/json writes unchanged, times in RFC 3339's range. It reads
// lengths only (and scans the short header strings), so Canonical can
// encode into an exactly sized slice instead of a pooled scratch buffer
// it would copy the result out of (a copy of every leaf, and 2 % of the
// gateway's CPU under ingest load). TestCanonicalSize checks it against
// the encoding's length.
func canonicalSize(e *Event) (int, bool) {
	if len(e.Labels) > 0 || (e.FieldsCanonical == nil && len(e.Fields) > 0) || !timeOK(e.Received) || !timeOK(e.Time) {
		return 0, false
	}
	n := len(`{"id":,"seq":,"received":"","time":"","source":,"sourcetype":,"class":,"raw":}`)
	for _, s := range [...]string{e.ID, e.Source, e.Sourcetype, string(e.Class)} {
		if !plainJSON(s) {
			return 0, false
		}
		n += len(s) + 2
	}
	for _, s := range [...]struct{ key, v string }{{`,"host":`, e.Host}, {`,"index":`, e.Index}} {
		if s.v == "" {
			continue
		}
		if !plainJSON(s.v) {
			return 0, false
		}
		n += len(s.key) + len(s.v) + 2
	}
	n += decimalLen(e.Seq) + rfc3339NanoLen(e.Received) + rfc3339NanoLen(e.Time)
	if len(e.FieldsCanonical) > len("{}") {
		n += len(`,"fields":`) + len(e.FieldsCanonical)
	}
	if e.Raw == nil {
		n += len("null")
	} else {
		n += 2 + (len(e.Raw)+2)/3*4
	}
	return n, true
}

// rfc3339NanoLen is the length of a UTC time of year 0–9999 formatted
// with time.RFC3339Nano: "2006-01-02T15:04:05Z" plus, for a non-zero
// nanosecond, a dot and its digits without trailing zeros.
func rfc3339NanoLen(t time.Time) int {
	ns := t.Nanosecond()
	if ns == 0 {
		return len("2006-01-02T15:04:05Z")
	}
	digits := 9
	for ns%10 == 0 {
		ns /= 10
		digits--
	}
	return len("2006-01-02T15:04:05Z") + 1 + digits
}

// decimalLen is the number of decimal digits of u.
func decimalLen(u uint64) int {
	n := 1
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

// AppendFieldValue appends v as Canonical writes it when v is a member
// value of Fields (or a member name, given as a string), so a decoder that
// writes FieldsCanonical itself writes every value it does not copy from
// its input through the same encoder. ok is false when v has no canonical
// encoding.
func AppendFieldValue(dst []byte, v any) ([]byte, bool) {
	return appendJSONValue(dst, v, 0)
}

// plainJSON reports whether encoding/json writes s unchanged between
// quotes: every byte printable ASCII other than `"`, `\`, `<`, `>` and
// `&`. One table load per byte instead of seven compares: canonicalSize
// scans every event's header strings (its 64-character id among them)
// with it, and appendJSONString every string of a map it encodes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// plainByte is plainJSON's rule for one byte (TestPlainByte checks every
// byte against the rule as written out).
var plainByte = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendPlainString appends s, known to be plainJSON, between quotes.
func appendPlainString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendJSONString appends s as encoding/json writes a string.
func appendJSONString(dst []byte, s string) []byte {
	if plainJSON(s) {
		return appendPlainString(dst, s)
	}
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}

// appendJSONValue appends v as encoding/json writes it inside an
// interface; ok is false when encoding/json fails on it.
func appendJSONValue(dst []byte, v any, depth int) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return appendJSONString(dst, x), true
	case json.Number:
		if x != "" && ValidNumber(string(x)) {
			return append(dst, x...), true
		}
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return appendJSONFloat(dst, x), true
		}
	case bool:
		return strconv.AppendBool(dst, x), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case map[string]any:
		if depth < canonicalDepth {
			return appendJSONMap(dst, x, depth+1)
		}
	case []any:
		if depth < canonicalDepth {
			if x == nil {
				return append(dst, "null"...), true
			}
			dst = append(dst, '[')
			for i, e := range x {
				if i > 0 {
					dst = append(dst, ',')
				}
				var ok bool
				if dst, ok = appendJSONValue(dst, e, depth+1); !ok {
					return dst, false
				}
			}
			return append(dst, ']'), true
		}
	case []string:
		if x == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, e)
		}
		return append(dst, ']'), true
	case map[string]string:
		return appendStringMap(dst, x), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, false
	}
	return append(dst, b...), true
}

// appendJSONMap appends m with its keys sorted (nil: null).
func appendJSONMap(dst []byte, m map[string]any, depth int) ([]byte, bool) {
	return appendSortedMap(dst, m, depth, appendJSONValue)
}

// appendStringMap appends m with its keys sorted (nil: null).
func appendStringMap(dst []byte, m map[string]string) []byte {
	dst, _ = appendSortedMap(dst, m, 0, func(dst []byte, s string, _ int) ([]byte, bool) {
		return appendJSONString(dst, s), true
	})
	return dst
}

// appendSortedMap appends m as a JSON object with its keys sorted, as
// encoding/json orders them, each value written by val at depth (nil:
// null); false when val cannot write a value.
func appendSortedMap[V any](dst []byte, m map[string]V, depth int, val func([]byte, V, int) ([]byte, bool)) ([]byte, bool) {
	if m == nil {
		return append(dst, "null"...), true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = val(dst, m[k], depth); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendJSONFloat appends a finite f as encoding/json writes a float64:
// the shortest representation that round-trips, in 'f' format unless the
// exponent is below -6 or at least 21 ('e' format, "e-07" written "e-7").
func appendJSONFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// canonicalBufs holds scratch buffers Canonical encodes into before
// copying the result out at its exact size: a buffer grown by appending
// is up to twice the encoding, and ingest holds every event's encoding
// until its group is fsynced.
var canonicalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledCanonical is the largest scratch buffer kept for reuse.
const maxPooledCanonical = 256 << 10
