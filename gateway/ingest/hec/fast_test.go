package hec

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// fastSeeds are FuzzFastParse's seed bodies (TestStoredUnchanged's too).
var fastSeeds = []string{
	`{"event":"x","time":1.5}`,
	`{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"kdd.duration":0,"kdd.flag":"SF"}}` + "\n" + `{"event":{"kdd.duration":3,"kdd.flag":"S0"}}`,
	`{"event":{"a":1}}{"event":{"b":"<"}}  {"event":[1,2]}`, `{"event":{"a":1},"fields":{"f":"v"}}`, `{"event":{"a":1},"fields":{"f":{}}}`,
	`{"event":{"a":1},"fields":"x"}`, `{"event":null}`, `{"event":""}`, `{"Event":{"a":1}}`, `{"event":1,"event":2}`,
	`{"host":5,"event":"x"}`, `{"time":"abc","event":"x"}`, `{"event":{"a":1}} x`, `{"event":{"a":1}}]`, "{\"event\":\"\xff\"}",
	`{"event":{"flow_id":1,"event_type":"flow","src_ip":"10.0.0.1"}}`, `{"event":{"@timestamp":"0000-01-01T00:00:00+00:01"}}`,
	`{"event":{"@timestamp":"2026-12-05T01:02:03.5Z","host":{"name":"web-1","name":"web-2"},"event":{"category":"process"},"a":{"b":1,"b":[{"c":"<"}]}}}`,
	`{"event":{"host.name":"h","dns.question.name":"x.example","@timestamp":1700000000.25}}{"event":{"winlog":{"event_id":4624,"channel":"Security"}}}`,
	`{"event":{"EventID":4688,"Channel":"Security"}}`, `{"event":{"a":1},"fields":{}}`, `{"event":{"a":1},"FIELDS":{"b":2}}`,
	`{"host":{"a":1},"event":{"a":1}}`, `{"time":{},"event":{"a":1}}`, `{"event":{"a":1,"a":2}}`, `{"event":{"\u0068ost.name":"h","é":"\u2028"}}`,
	"{\"event\":{\"a\":\"\xff\"}}", `{"event":{}}`,
	// Envelopes decoded in place (PrefixShallow reads on past each one):
	// what follows a good envelope on the same line, an envelope larger
	// than the last by far (the encodings' block sized from the last).
	`{"event":{"a":1,"b":"x"},"host":"h1"}{"event":{"a":2,"b":"y"},"host":"h2"}` + "\xff", "{\"event\":{\"a\":1}}\n{\"event\":{\"a\":\"\xff\"}}",
	`{"event":{"a":1}}{"event":{"a":1}`, `{"event":{"b":"<","a":1}}{"event":{"a":"` + strings.Repeat("x<", 3000) + `","b":"<"}}{"event":{"b":"<","a":1}}`,
}

// FuzzFastParse checks ParseEvents (the fast decoder first) against
// parseEvents (encoding/json's stream decoder alone) on arbitrary
// bodies: the same events, the same canonical bytes and the same error.
func FuzzFastParse(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096}.WithDefaults()
		m := meta()
		m.Key = "k"
		got, gerr := ParseEvents(body, m, lim)
		if ingest.IsBlank(body) {
			return // refused before either decoder
		}
		want, werr := parseEvents(body, m, lim)
		maps, merr := parseFast(body, m, lim, &ingest.Decoder{MapsOnly: true})
		if errors.Is(merr, errSlowPath) {
			maps, merr = want, werr
		}
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%q: fast path error %v, encoding/json path %v", body, gerr, werr)
		}
		if (merr == nil) != (werr == nil) || (merr != nil && merr.Error() != werr.Error()) {
			t.Fatalf("%q: map path error %v, encoding/json path %v", body, merr, werr)
		}
		ingesttest.SameEvents(t, body, maps, want)
		ingesttest.SameEvents(t, body, got, maps)
	})
}

// TestFastParseTaken pins that an ordinary HEC body takes the fast path,
// that its unrecognised records carry no map (Fields nil, FieldsCanonical
// the decoder's encoding) and the others theirs, and that every event is
// the map path's and the encoding/json path's.
func TestFastParseTaken(t *testing.T) {
	body := []byte(`{"sourcetype":"nsl-kdd","event":{"kdd.service":"http","kdd.src_bytes":181}}` + "\n" + `{"event":{"a":1}} {"event":"a line"}` +
		`{"event":{"@timestamp":"2026-12-05T01:02:03Z","event":{"category":"authentication"},"host":{"name":"web-1"}}}` +
		`{"event":{"a":1},"fields":{"b":"2"}}{"event":{"event_type":"alert","src_ip":"10.0.0.1","alert":{"signature":"x"}}}`)
	m := meta()
	m.Key, m.Host = "k", ""
	lim := ingest.Limits{}.WithDefaults()
	evs, err := parseFast(body, m, lim, new(ingest.Decoder))
	if err != nil || len(evs) != 6 {
		t.Fatalf("parseFast: %v, %d events", err, len(evs))
	}
	for i, want := range []bool{true, true, false, true, false, false} {
		if got := evs[i].Fields == nil && evs[i].FieldsCanonical != nil; got != want {
			t.Errorf("event %d: map-free = %v, want %v", i, got, want)
		}
	}
	if evs[3].Class != gateway.ClassAuth || evs[3].Host != "web-1" || evs[3].Time.Year() != 2026 || evs[5].Class != gateway.ClassAlert {
		t.Errorf("ECS event %s %q %v, Suricata alert %s", evs[3].Class, evs[3].Host, evs[3].Time, evs[5].Class)
	}
	maps, err := parseFast(body, m, lim, &ingest.Decoder{MapsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := parseEvents(body, m, lim)
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.SameEvents(t, body, evs, maps)
	ingesttest.SameEvents(t, body, maps, strict)
}

// BenchmarkEventsPath is the CPU per HEC event of a 1000-event body of
// 41-field flow records: ParseEvents plus the store's per-event Validate
// and Canonical, for the encoding/json path ("strict"), the fast decoder
// building maps ("maps") and its map-free mode ("fast") in the same
// process.
func BenchmarkEventsPath(b *testing.B) {
	var one strings.Builder
	one.WriteString(`{"event":{"bench.r":"000000000000","event.category":"network","kdd.flag":"SF","kdd.protocol_type":"tcp","kdd.service":"http"`)
	for i := range 37 {
		fmt.Fprintf(&one, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	one.WriteString(`},"host":"sensor-01","sourcetype":"nsl-kdd"}` + "\n")
	body := []byte(strings.Repeat(one.String(), 1000))
	lim := ingest.Limits{}.WithDefaults()
	for _, bc := range []struct {
		name  string
		parse func() ([]gateway.Event, error)
	}{
		{"strict", func() ([]gateway.Event, error) { return parseEvents(body, meta(), lim) }},
		{"maps", func() ([]gateway.Event, error) { return parseFast(body, meta(), lim, &ingest.Decoder{MapsOnly: true}) }},
		{"fast", func() ([]gateway.Event, error) { return ParseEvents(body, meta(), lim) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			rate := ingesttest.Rate(b)
			for b.Loop() {
				evs, err := bc.parse()
				if err != nil {
					b.Fatal(err)
				}
				ingesttest.StoreWork(b, evs)
			}
			rate(1000)
		})
	}
}

// BenchmarkKDDPath is BenchmarkEventsPath's fast path on real NSL-KDD
// rows as `make bench` sends them (ingesttest.KDDBody). Skipped without
// the shared data.
func BenchmarkKDDPath(b *testing.B) {
	body := ingesttest.KDDBody(b, 1000)
	lim := ingest.Limits{}.WithDefaults()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		evs, err := ParseEvents(body, meta(), lim)
		if err != nil || len(evs) != 1000 {
			b.Fatal(err, len(evs))
		}
		ingesttest.StoreWork(b, evs)
	}
	rate(1000)
}

// TestEventsKeepNoBody: the events ParseEvents returns hold no reference
// to the request's body (the HTTP layer reuses its buffer once the
// request is answered, while the events wait for their group commit and
// sit in the store's ring): overwriting the body leaves every event's
// canonical bytes as they were. The envelopes are decoded in place, the
// members' bytes slices of the body, so this is where an alias would
// show.
func TestEventsKeepNoBody(t *testing.T) {
	for i, s := range fastSeeds {
		body := []byte(s)
		evs, err := ParseEvents(body, meta(), ingest.Limits{}.WithDefaults())
		if err != nil {
			continue // refused bodies give no events
		}
		want := make([][]byte, len(evs))
		for k := range evs {
			if want[k], err = evs[k].Canonical(); err != nil {
				t.Fatalf("seed %d event %d: %v", i, k, err)
			}
		}
		for k := range body {
			body[k] = 'Z'
		}
		for k := range evs {
			got, err := evs[k].Canonical()
			if err != nil || string(got) != string(want[k]) {
				t.Errorf("seed %d event %d: canonical after the body was overwritten\n got %s (%v)\nwant %s", i, k, got, err, want[k])
			}
		}
	}
}
