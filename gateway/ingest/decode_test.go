package ingest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fuzzEnvelope has every kind of member the parsers decode into.
type fuzzEnvelope struct {
	Time       json.RawMessage `json:"time"`
	Sourcetype *string         `json:"sourcetype"`
	Host       *string         `json:"host"`
	Event      any             `json:"event"`
	Fields     map[string]any  `json:"fields"`
}

// FuzzFastDecode checks DecodeStrict's fast path against encoding/json:
// whenever the fast decoder accepts an input, encoding/json accepts it too
// and decodes the same value, into an envelope, a generic value and a map
// of raw members; and DecodeStrict's answer (value or error) is always
// encoding/json's.
func FuzzFastDecode(f *testing.F) {
	for _, s := range []string{
		`{"time":1732550400.5,"host":"h","sourcetype":"zeek:conn","event":{"a":1,"b":[true,null,"x"],"c":{"d":-0.5e3}},"fields":{"k":"v"}}`,
		`{"event":"a line","HOST":"h"}`, `{"event":"\u00e9\ud83d\ude00\u0000"}`, `{"event":"\ud800"}`, "{\"event\":\"\xff\"}",
		`{"event":1} x`, `{"event":1}}`, `{"event":01}`, `{"event":1.}`, `{"fields":"str","event":1}`, `{"a":1,"a":2}`,
		`[1,2]`, `"s"`, `null`, `{"event":123456789012345678901234567890}`, "{\"event\":\"a\tb\"}", `{"time":null}`, ` {"x":{}} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newTarget := range []func() any{
			func() any { return new(fuzzEnvelope) },
			func() any { return new(any) },
			func() any { return new(map[string]json.RawMessage) },
		} {
			fast, std := newTarget(), newTarget()
			stdErr := decodeStrictStd(b, std)
			if fastDecode(b, fast) == nil {
				if stdErr != nil {
					t.Fatalf("%q: fast decoder accepts (%#v), encoding/json refuses: %v", b, fast, stdErr)
				}
				if !reflect.DeepEqual(fast, std) {
					t.Fatalf("%q: fast decoder gives %#v, encoding/json %#v", b, fast, std)
				}
			}
			got := newTarget()
			err := DecodeStrict(b, got)
			if (err == nil) != (stdErr == nil) || (err != nil && err.Error() != stdErr.Error()) {
				t.Fatalf("%q: DecodeStrict error %v, encoding/json %v", b, err, stdErr)
			}
			if err == nil && !reflect.DeepEqual(got, std) {
				t.Fatalf("%q: DecodeStrict gives %#v, encoding/json %#v", b, got, std)
			}
		}
	})
}
