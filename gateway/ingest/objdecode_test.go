package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// decoderSeeds are lines the fast path takes and lines it must leave to
// DecodeStrict.
var decoderSeeds = []string{
	`{"time":1732550400.5,"host":"h","sourcetype":"zeek:conn","event":{"a":1,"b":[true,null,"x"],"c":{"d":-0.5e3}},"fields":{"k":"v"}}`,
	`{"event":{"z":"1","a":"<&>","é":"ü","":0,"q\"":"\u2028","n":-0.0,"e":1E+2,"arr":[[],{},[1,{"x":null}]]}}`,
	`{"event":"a line","HOST":"h"}`, `{"event":"\u00e9\ud83d\ude00\u0000"}`, `{"event":"\ud800"}`, "{\"event\":\"\xff\"}",
	`{"event":1} x`, `{"event":1}}`, `{"event":01}`, `{"event":1.}`, `{"fields":"str","event":1}`, `{"a":1,"a":2}`,
	`{"event":{"a":1,"a":2}}`, `{"event":{"a":{"b":1,"b":2}}}`, `[1,2]`, `"s"`, `null`, `{"event":123456789012345678901234567890}`,
	"{\"event\":\"a\tb\"}", `{"time":null}`, `{"a":"}"}{"b":1}`, `{"a":[{}]} {"b":1}`, " {\"x\":{}} ", "{\"x\":1}\f", `{"x":tru}`, `{"x":-}`, `{"x":1e}`, `{"x":"\x"}`, `{}`,
}

// FuzzDecoder checks the fast decoder against DecodeStrict (encoding/json
// with UseNumber) and the canonical encoder on arbitrary input: whenever
// it decodes a line, DecodeStrict decodes the same object (members in
// order, the last of a repeated name winning), each member's Raw is that
// member's value as written, and each object member's Canonical is what
// gateway.Event.Canonical writes for those fields.
func FuzzDecoder(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	var d Decoder // reused, as the parsers reuse it: the order cache is exercised
	f.Fuzz(func(t *testing.T, b []byte) {
		if members, end, ok := d.Prefix(b); ok {
			// As HEC's stream decoder reads the first of concatenated objects.
			sd := json.NewDecoder(bytes.NewReader(b))
			sd.UseNumber()
			var std map[string]any
			if err := sd.Decode(&std); err != nil || sd.InputOffset() != int64(end) {
				t.Fatalf("%q: Prefix ends at %d, encoding/json's stream decoder at %d (%v)", b, end, sd.InputOffset(), err)
			}
			got := map[string]any{}
			for _, m := range members {
				got[m.Key] = m.Value
			}
			if !reflect.DeepEqual(got, std) {
				t.Fatalf("%q: Prefix gives %#v, encoding/json %#v", b, got, std)
			}
		}
		if obj, canon, ok := d.Object(b); ok {
			// As _bulk decodes a source line.
			std, err := DecodeObject(b)
			if err != nil || !reflect.DeepEqual(obj, std) {
				t.Fatalf("%q: Object gives %#v, DecodeObject %#v (%v)", b, obj, std, err)
			}
			if len(obj) > 0 {
				ev := gateway.Event{ID: "x", Time: time.Unix(1, 0), Received: time.Unix(2, 0), Fields: obj}
				want, werr := ev.Canonical()
				ev.FieldsCanonical = canon
				have, herr := ev.Canonical()
				if werr != nil || herr != nil || !bytes.Equal(have, want) {
					t.Fatalf("%q: Object's canonical\n%s (%v)\nwant\n%s (%v)", b, have, herr, want, werr)
				}
			}
		}
		members, ok := d.Members(b)
		if !ok {
			return
		}
		var std map[string]any
		if err := DecodeStrict(b, &std); err != nil || std == nil {
			t.Fatalf("%q: fast decoder accepts, DecodeStrict refuses: %v", b, err)
		}
		got := make(map[string]any, len(members))
		for _, m := range members {
			got[m.Key] = m.Value
			var raw any
			if err := DecodeStrict(m.Raw, &raw); err != nil || !reflect.DeepEqual(raw, m.Value) {
				t.Fatalf("%q: member %q: Raw %q decodes to %#v (%v), Value %#v", b, m.Key, m.Raw, raw, err, m.Value)
			}
			fields, isObj := m.Value.(map[string]any)
			if !isObj {
				if m.Canonical != nil {
					t.Fatalf("%q: member %q is no object but has Canonical %q", b, m.Key, m.Canonical)
				}
				continue
			}
			if len(fields) == 0 {
				continue // Canonical omits empty fields
			}
			ev := gateway.Event{ID: "x", Time: time.Unix(1, 0), Received: time.Unix(2, 0), Fields: fields}
			want, werr := ev.Canonical()
			ev.FieldsCanonical = m.Canonical
			have, herr := ev.Canonical()
			if werr != nil || herr != nil || !bytes.Equal(have, want) {
				t.Fatalf("%q: member %q: canonical with the decoder's encoding\n%s (%v)\nwant\n%s (%v)", b, m.Key, have, herr, want, werr)
			}
		}
		if !reflect.DeepEqual(got, std) {
			t.Fatalf("%q: fast decoder gives %#v, DecodeStrict %#v", b, got, std)
		}
	})
}

// TestDecoderTakes pins that ordinary telemetry lines take the fast path
// (the fuzz test alone would pass if it took none).
func TestDecoderTakes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want bool
	}{
		{"flat flow", `{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"kdd.duration":0,"kdd.protocol_type":"tcp","kdd.src_bytes":181,"rate":0.25}}`, true},
		{"nested ecs", `{"event":{"@timestamp":"2026-12-05T01:02:03Z","source":{"ip":"10.0.0.1","port":51234},"tags":["a","b"]}}`, true},
		{"non-ascii and html", `{"event":{"user.name":"żółw","url":"/a?b=1&c=<2>"}}`, true},
		{"escapes", `{"event":{"path":"C:\\Windows\\system32","q":"say \"hi\""}}`, true},
		{"empty", `{}`, true},
		{"invalid utf-8", "{\"event\":\"\xff\"}", false},
		{"duplicate in event", `{"event":{"a":1,"a":2}}`, false},
		{"trailing data", `{"event":1} x`, false},
		{"not an object", `[1]`, false},
		{"leading zero", `{"event":01}`, false},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := d.Members([]byte(tt.line)); got != tt.want {
				t.Errorf("Members(%s) ok = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

// TestDecoderCanonical pins one encoding by hand: names sorted bytewise,
// numbers as written, strings re-encoded only where the canonical form
// differs from the input.
func TestDecoderCanonical(t *testing.T) {
	var d Decoder
	for range 2 { // the second time through the cached member order
		members, ok := d.Members([]byte(`{"event":{"b":"x<y","a":1.50,"c":{"z":[1,"\u00e9"],"y":null},"A":true,"é":"\/"}}`))
		if !ok || len(members) != 1 {
			t.Fatalf("Members: ok %v, %d members", ok, len(members))
		}
		got := string(members[0].Canonical)
		want := `{"A":true,"a":1.50,"b":"x\u003cy","c":{"y":null,"z":[1,"é"]},"é":"/"}`
		if got != want {
			t.Errorf("Canonical = %s, want %s", got, want)
		}
	}
}

// TestDecoderKeepsEncodings: an encoding handed out is never written
// over by later lines (events keep it without a copy).
func TestDecoderKeepsEncodings(t *testing.T) {
	var d Decoder
	first, ok := d.Members([]byte(`{"event":{"b":2,"a":1}}`))
	if !ok {
		t.Fatal("not decoded")
	}
	kept := first[0].Canonical
	want := string(kept)
	for i := range 5000 { // past several blocks, failures included
		d.Members([]byte(fmt.Sprintf(`{"event":{"k%d":"%s"}}`, i, strings.Repeat("x", i%300))))
		d.Members([]byte(`{"event":{"a":1,"b":`))
		d.Object([]byte(fmt.Sprintf(`{"z":%d}`, i)))
	}
	if string(kept) != want {
		t.Errorf("kept encoding changed to %s, want %s", kept, want)
	}
}

// TestDecoderMatchesJSON runs the fuzz seeds as a table, so go test alone
// checks them without the fuzz corpus.
func TestDecoderMatchesJSON(t *testing.T) {
	var d Decoder
	for _, s := range decoderSeeds {
		members, ok := d.Members([]byte(s))
		if !ok {
			continue
		}
		got := map[string]any{}
		for _, m := range members {
			got[m.Key] = m.Value
		}
		var want map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(s)))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fast %#v, encoding/json %#v (%v)", s, got, want, err)
		}
	}
}

func TestMemberIndex(t *testing.T) {
	names := []string{"time", "event", "fields"}
	tests := []struct {
		key    string
		want   int
		wantOK bool
	}{
		{"event", 1, true},
		{"fields", 2, true},
		{"other", -1, true},
		{"", -1, true},
		{"Event", -1, false},
		{"TIME", -1, false},
		{"\u212aey", -1, false}, // Kelvin sign: not ASCII, left to encoding/json
		{"évent", -1, false},
	}
	for _, tt := range tests {
		if got, ok := MemberIndex(tt.key, names); got != tt.want || ok != tt.wantOK {
			t.Errorf("MemberIndex(%q) = %d, %v; want %d, %v", tt.key, got, ok, tt.want, tt.wantOK)
		}
	}
}

// objectEndBytewise is objectEnd as it was, byte by byte: the reference
// FuzzObjectEnd checks it against.
func objectEndBytewise(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		}
	}
	return -1
}

// FuzzObjectEnd checks objectEnd against the byte-by-byte scan.
func FuzzObjectEnd(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"}"}x`, `{"a":"\"}"}`, `{"a":"\\"}`, `{"a":"\\\"}"}`, `{"a":["]",{"b":"\\\\"}]}{}`,
		`{"a":"x\`, `{"a":"x\\`, `{"a`, `{"\\\\\\\\":1}`, `[]`, `{"a":[}`, `{"":"\"\\"}`, `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := objectEnd(b), objectEndBytewise(b); got != want {
			t.Fatalf("objectEnd(%q) = %d, byte by byte %d", b, got, want)
		}
	})
}

// BenchmarkObjectEnd is objectEnd against the byte-by-byte scan on the
// envelopes of a body of real NSL-KDD rows (ingesttest.KDDBody), as HEC
// cuts each one out; skipped without the shared data.
func BenchmarkObjectEnd(b *testing.B) {
	body := ingesttest.KDDBody(b, 1000)
	for _, bc := range []struct {
		name string
		end  func([]byte) int
	}{{"bytewise", objectEndBytewise}, {"indexbyte", objectEnd}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				for rest := body; len(rest) > 1; {
					n := bc.end(rest)
					if n < 0 {
						b.Fatal("no end")
					}
					rest = rest[n+1:] // past the newline
				}
			}
		})
	}
}
