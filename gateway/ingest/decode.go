package ingest

import (
	"errors"
	"reflect"
	"unicode/utf8"

	"github.com/bytedance/sonic"
)

// The ingest parsers decode every event's JSON, so the decoder is chosen
// by measurement (BenchmarkDecoders in decoder_bench_test.go, one envelope
// line into the parsers' envelope shape, numbers as json.Number, on the
// 2-core hosts this project runs on, Go 1.26):
//
//	decoder                         41-field flow row   10-field Zeek record
//	encoding/json                   18.4 µs, 150 allocs  7.0 µs, 50 allocs
//	github.com/goccy/go-json        15.3 µs, 185 allocs  4.5 µs, 54 allocs
//	github.com/bytedance/sonic       9.3 µs,  56 allocs  2.7 µs, 21 allocs
//
// (encoding/json/v2 needs GOEXPERIMENT=jsonv2 in Go 1.26, so it is not an
// option for a default build.) sonic, ByteDance's JIT-compiled decoder,
// well kept and already in the module graph through gin, is about twice as
// fast as the standard library with a third of its allocations. It is
// used as a fast path only: what sonic accepts is decoded exactly as
// encoding/json would decode it (FuzzFastDecode checks this on arbitrary
// input, value for value), and whatever it refuses is decoded again by
// encoding/json, so every error a client sees, and every lenient case the
// standard library accepts (invalid UTF-8 replaced by U+FFFD, for one),
// is the standard library's. Strings are copied, never aliasing the
// request buffer.
//
// NDJSON and HEC envelopes, one object per event, go through Decoder
// (objdecode.go) before this: a one-pass decoder that also writes the
// event's canonical field encoding, so the generic decode, Validate and
// the canonical encoder's sort are paid once instead of three times.
// DecodeStrict remains the path for everything it does not take and for
// the other protocols' generic values.
var fastJSON = sonic.Config{
	UseNumber:      true, // numbers stay exact digits, as encoding/json's UseNumber
	ValidateString: true, // refuse invalid UTF-8 and control characters, so encoding/json handles them
	CopyString:     true, // never alias the request body
}.Froze()

// fastDecode decodes b into v with the fast decoder; an error means only
// that the caller must decode with encoding/json.
func fastDecode(b []byte, v any) error {
	// sonic rewrites invalid UTF-8 even inside raw members, where
	// encoding/json keeps the bytes: leave such input to encoding/json.
	if !utf8.Valid(b) {
		return errNotFast
	}
	return fastJSON.Unmarshal(b, v)
}

var errNotFast = errors.New("input left to encoding/json")

// resetTarget zeroes what v points to, so a decode the fast path gave up
// half way leaves nothing behind for encoding/json's decode into it.
func resetTarget(v any) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
}
