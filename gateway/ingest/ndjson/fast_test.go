package ndjson

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// FuzzFastParse checks Parse's fast decoder against the DecodeStrict path
// it replaces (parse with no decoder) on arbitrary bodies: the same
// events, the same canonical bytes (the Merkle leaves), the same line
// errors and the same refusal (code, line, message).
func FuzzFastParse(f *testing.F) {
	for _, s := range []string{
		`{"event":"x","time":1}`,
		`{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"kdd.duration":0,"kdd.protocol_type":"tcp","kdd.flag":"SF","rate":0.25}}` + "\n" +
			`{"sourcetype":"nsl-kdd","host":"sensor-02","event":{"kdd.duration":3,"kdd.protocol_type":"udp","kdd.flag":"S0","rate":1}}`,
		`{"fields":{"b":1,"a":"<"}}` + "\n" + `{"event":{"x":1},"fields":{"y":2}}` + "\n" + `{"event":{"x":1},"fields":{}}`,
		`{"event":{"_path":"conn","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp","ts":1700000000.5}}`,
		`{"event":{"@timestamp":"0000-01-01T00:00:00+00:01","a":1}}`, `{"Event":{"a":1}}`, `{"event":{"a":1},"event":{"b":2}}`,
		`{"source":5,"event":{"a":1}}`, `{"source":null,"index":"","event":{"a":[{"b":{}}]}}`, "{\"event\":{\"a\":\"\xff\"}}",
		`{"event":{}}`, `{"time":"x","event":{"a":1}}`, `{"event":{"a":1}}` + "\n" + `{"event":{"a":1}} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096}
		m := meta()
		m.Key = "k"
		want, werr := parse(body, m, lim, nil)
		got, gerr := parse(body, m, lim, new(ingest.Decoder))
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%q: fast path error %v, DecodeStrict path %v", body, gerr, werr)
		}
		if fmt.Sprint(got.Errors) != fmt.Sprint(want.Errors) {
			t.Fatalf("%q: fast path line errors %v, DecodeStrict path %v", body, got.Errors, want.Errors)
		}
		ingesttest.SameEvents(t, body, got.Events, want.Events)
	})
}

// TestFastParseTaken pins that ordinary unrecognised records carry the
// decoder's canonical encoding and recognised or merged ones do not.
func TestFastParseTaken(t *testing.T) {
	tests := []struct {
		name string
		line string
		want bool
	}{
		{"flow row", `{"sourcetype":"nsl-kdd","event":{"event.category":"network","kdd.service":"http","kdd.src_bytes":181}}`, true},
		{"fields only", `{"fields":{"a":1}}`, true},
		{"zeek recognised", `{"event":{"_path":"conn","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp"}}`, false},
		{"event and fields merged", `{"event":{"a":1},"fields":{"b":2}}`, false},
		{"string event", `{"event":"a line"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse([]byte(tt.line), meta(), ingest.Limits{})
			if err != nil || len(res.Events) != 1 {
				t.Fatalf("Parse: %v, %d events", err, len(res.Events))
			}
			if got := res.Events[0].FieldsCanonical != nil; got != tt.want {
				t.Errorf("FieldsCanonical set = %v, want %v", got, tt.want)
			}
		})
	}
}

// flowBody is a 1000-line body of 41-field flow records shaped like the
// NSL-KDD rows make bench replays (names sorted, as the bench's encoder
// writes them).
func flowBody() []byte {
	var one strings.Builder
	one.WriteString(`{"event":{"bench.r":"000000000000","event.category":"network","kdd.flag":"SF","kdd.protocol_type":"tcp","kdd.service":"http"`)
	for i := range 37 {
		fmt.Fprintf(&one, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	one.WriteString(`},"host":"sensor-01","sourcetype":"nsl-kdd"}` + "\n")
	return []byte(strings.Repeat(one.String(), 1000))
}

// BenchmarkHandlerPath is the CPU the gateway spends per NDJSON event
// before the store's group commit: Parse (decode, normalise, validate)
// plus what store.Append does per event (Validate, Canonical). "strict"
// is the previous path (ingest.DecodeStrict into the envelope, the
// canonical encoder walking and sorting the fields), "fast" the Decoder;
// both run in the same process, so their ratio is what the change buys.
func BenchmarkHandlerPath(b *testing.B) {
	body := flowBody()
	for _, bc := range []struct {
		name string
		dec  func() *ingest.Decoder
	}{{"strict", func() *ingest.Decoder { return nil }}, {"fast", func() *ingest.Decoder { return new(ingest.Decoder) }}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			rate := ingesttest.Rate(b)
			dec := bc.dec()
			for b.Loop() {
				res, err := parse(body, meta(), ingest.Limits{}, dec)
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range res.Events {
					if err := e.Validate(); err != nil {
						b.Fatal(err)
					}
					if _, err := e.Canonical(); err != nil {
						b.Fatal(err)
					}
				}
			}
			rate(1000)
		})
	}
}
