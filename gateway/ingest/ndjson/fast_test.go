package ndjson

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// FuzzFastParse checks Parse's fast decoder against the DecodeStrict path
// it replaces (parse with no decoder) on arbitrary bodies: the same
// events, the same canonical bytes (the Merkle leaves), the same line
// errors and the same refusal (code, line, message); and the same for
// the decoder's map-free mode against its map path (MapsOnly), the path
// it replaces for records normalize keeps as decoded.
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
		`{"event":{"@timestamp":"2026-12-05T01:02:03.5Z","host":{"name":"web-1","name":"web-2"},"event":{"category":["web","authentication"]},"a":{"b":1,"b":[{"c":"<"}]}}}`,
		`{"event":{"host.name":"h","dns.question.name":"x.example","event.category":"network","@timestamp":1700000000.25}}`,
		`{"event":{"event_type":"dns","flow_id":1,"src_ip":"10.0.0.1","dns":{"rrname":"x.example"}}}`,
		`{"event":{"winlog":{"event_id":4625,"channel":"Security","event_data":{"TargetUserName":"bob"}}}}`,
		`{"event":{"EventID":4688,"Channel":"Security","NewProcessName":"cmd.exe"}}`, `{"event":{"event_type":"x","a":1}}`,
		`{"event":{"\u0068ost":{"name":"h"},"é":"\u2028","k\"":[[],{}]}}`, `{"host":{"a":1},"event":{"a":1}}`, `{"time":{},"event":{"a":1}}`,
		`{"event":{"a":1},"FIELDS":{"b":2}}`, `{"fields":{},"event":{"a":1}}`, `{"event":{"event":"not an object","host":["h"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096}
		m := meta()
		m.Key = "k"
		want, werr := parse(body, m, lim, nil)
		maps, merr := parse(body, m, lim, &ingest.Decoder{MapsOnly: true})
		got, gerr := parse(body, m, lim, new(ingest.Decoder))
		for _, p := range []struct {
			name string
			res  Result
			err  error
		}{{"map path", maps, merr}, {"map-free path", got, gerr}} {
			if (p.err == nil) != (werr == nil) || (p.err != nil && p.err.Error() != werr.Error()) {
				t.Fatalf("%q: %s error %v, DecodeStrict path %v", body, p.name, p.err, werr)
			}
			if fmt.Sprint(p.res.Errors) != fmt.Sprint(want.Errors) {
				t.Fatalf("%q: %s line errors %v, DecodeStrict path %v", body, p.name, p.res.Errors, want.Errors)
			}
		}
		ingesttest.SameEvents(t, body, maps.Events, want.Events)
		ingesttest.SameEvents(t, body, got.Events, maps.Events)
	})
}

// TestFastParseTaken pins which records take which path: ordinary
// unrecognised records (the flow rows, ECS objects) no map at all (Fields
// nil, FieldsCanonical the decoder's encoding), an unrecognised record
// whose envelope holds "fields" the map path with the decoder's encoding,
// recognised or merged ones the normalised map; and that each event is
// the one the map path and the DecodeStrict path build (canonical bytes,
// class, time, host, sourcetype, id).
func TestFastParseTaken(t *testing.T) {
	const (
		mapFree   = iota // Fields nil, FieldsCanonical set
		keptMap          // Fields the decoded map, FieldsCanonical set
		builtMaps        // Fields built by normalize or merged, FieldsCanonical nil
	)
	tests := []struct {
		name      string
		line      string
		want      int
		wantClass gateway.Class
		wantHost  string
	}{
		{"flow row", `{"sourcetype":"nsl-kdd","event":{"event.category":"network","kdd.service":"http","kdd.src_bytes":181}}`, mapFree, gateway.ClassFlow, ""},
		{"bench envelope", `{"event":{"bench.r":"0001","kdd.flag":"SF","kdd.duration":0},"host":"sensor-01","sourcetype":"nsl-kdd"}`, mapFree, gateway.ClassOther, "sensor-01"},
		{"ecs nested", `{"event":{"@timestamp":"2026-12-05T01:02:03.5Z","event":{"category":["web","authentication"]},"host":{"name":"web-1"},"user":{"name":"bob"}}}`, mapFree, gateway.ClassAuth, "web-1"},
		{"ecs flat", `{"host":"","event":{"@timestamp":1700000000.25,"host.name":"web-2","dns.question.name":"x.example"}}`, mapFree, gateway.ClassDNS, "web-2"},
		{"ecs nested host, no envelope host", `{"host":null,"event":{"host":{"name":"web-3","name":"web-4"},"event.category":"process"}}`, mapFree, gateway.ClassProcess, "web-4"},
		{"nested duplicates", `{"event":{"a":{"b":1,"b":{"c":[1,{"d":2,"d":3}]}}}}`, mapFree, gateway.ClassOther, ""},
		{"escaped names and html", `{"event":{"\u0068ost.name":"h<1>","é":"\u2028","k\"":"a&b"}}`, mapFree, gateway.ClassOther, "h<1>"},
		{"empty record", `{"event":{}}`, mapFree, gateway.ClassOther, ""},
		{"fields only", `{"fields":{"a":1}}`, keptMap, gateway.ClassOther, ""},
		{"event and empty fields", `{"event":{"a":1},"fields":{}}`, keptMap, gateway.ClassOther, ""},
		{"unrecognised with a shape's name", `{"event":{"event_type":"x","a":1}}`, keptMap, gateway.ClassOther, ""},
		{"zeek recognised", `{"event":{"_path":"conn","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp"}}`, builtMaps, gateway.ClassFlow, ""},
		{"suricata recognised", `{"event":{"event_type":"flow","flow_id":7,"src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":2,"proto":"TCP"}}`, builtMaps, gateway.ClassFlow, ""},
		{"winlogbeat recognised", `{"host":"","event":{"winlog":{"event_id":4625,"channel":"Security","computer_name":"dc-1","event_data":{"TargetUserName":"bob"}}}}`, builtMaps, gateway.ClassAuth, "dc-1"},
		{"nxlog recognised", `{"event":{"EventID":4624,"Channel":"Security","TargetUserName":"bob"}}`, builtMaps, gateway.ClassAuth, ""},
		{"event and fields merged", `{"event":{"a":1},"fields":{"b":2}}`, builtMaps, gateway.ClassOther, ""},
		{"string event", `{"event":"a line"}`, builtMaps, gateway.ClassOther, ""},
		// Left to DecodeStrict, as before: its values, its replacement of
		// invalid UTF-8, its choice among repeated names.
		{"invalid utf-8", "{\"event\":{\"a\":\"\xff\",\"host.name\":\"h\"}}", builtMaps, gateway.ClassOther, "h"},
		{"duplicate in record", `{"event":{"a":1,"a":2,"event.category":"network"}}`, builtMaps, gateway.ClassFlow, ""},
		{"deeper than the decoder goes", `{"event":{"x":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}}`, builtMaps, gateway.ClassOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := meta()
			m.Key, m.Host = "k", "" // the record's own host shows
			res, err := parse([]byte(tt.line), m, ingest.Limits{}, new(ingest.Decoder))
			if err != nil || len(res.Events) != 1 {
				t.Fatalf("Parse: %v, %d events", err, len(res.Events))
			}
			ev := res.Events[0]
			got := builtMaps
			switch {
			case ev.FieldsCanonical != nil && ev.Fields == nil:
				got = mapFree
			case ev.FieldsCanonical != nil:
				got = keptMap
			}
			if got != tt.want {
				t.Errorf("path %d (Fields nil %v, FieldsCanonical %q), want %d", got, ev.Fields == nil, ev.FieldsCanonical, tt.want)
			}
			if ev.Class != tt.wantClass || ev.Host != tt.wantHost {
				t.Errorf("class %q host %q, want %q %q", ev.Class, ev.Host, tt.wantClass, tt.wantHost)
			}
			maps, err := parse([]byte(tt.line), m, ingest.Limits{}, &ingest.Decoder{MapsOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			strict, err := parse([]byte(tt.line), m, ingest.Limits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ingesttest.SameEvents(t, []byte(tt.line), res.Events, maps.Events)
			ingesttest.SameEvents(t, []byte(tt.line), maps.Events, strict.Events)
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
// is the first path (ingest.DecodeStrict into the envelope, the
// canonical encoder walking and sorting the fields), "maps" the Decoder
// building the record's map (MapsOnly), "fast" the Decoder's map-free
// mode; all run in the same process, so their ratios are what each
// change buys.
func BenchmarkHandlerPath(b *testing.B) {
	body := flowBody()
	for _, bc := range []struct {
		name string
		dec  func() *ingest.Decoder
	}{
		{"strict", func() *ingest.Decoder { return nil }},
		{"maps", func() *ingest.Decoder { return &ingest.Decoder{MapsOnly: true} }},
		{"fast", func() *ingest.Decoder { return new(ingest.Decoder) }},
	} {
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
				ingesttest.StoreWork(b, res.Events)
			}
			rate(1000)
		})
	}
}

// BenchmarkRecognisedPath is BenchmarkHandlerPath's maps/fast pair on
// the map-free mode's worst case: records normalize recognises by a
// member that comes last (Winlogbeat writes "winlog" after "@timestamp",
// "agent", "event", "host", ...), so the map-free pass runs to the end
// before the line is decoded again with maps.
func BenchmarkRecognisedPath(b *testing.B) {
	line := `{"event":{"@timestamp":"2026-03-01T11:00:00.000Z","agent":{"type":"winlogbeat","version":"8.12.0"},"ecs":{"version":"8.0.0"},` +
		`"event":{"code":"4625","kind":"event","provider":"Microsoft-Windows-Security-Auditing"},"host":{"name":"dc-01"},"log":{"level":"information"},` +
		`"message":"An account failed to log on.","winlog":{"channel":"Security","computer_name":"dc-01.corp","event_id":4625,` +
		`"event_data":{"TargetUserName":"alice","TargetDomainName":"CORP","IpAddress":"10.1.2.3","IpPort":"51515","LogonType":"3","Status":"0xc000006d","SubStatus":"0xc000006a"}}},"sourcetype":"winlogbeat"}` + "\n"
	body := []byte(strings.Repeat(line, 1000))
	for _, bc := range []struct {
		name string
		dec  func() *ingest.Decoder
	}{
		{"maps", func() *ingest.Decoder { return &ingest.Decoder{MapsOnly: true} }},
		{"fast", func() *ingest.Decoder { return new(ingest.Decoder) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			rate := ingesttest.Rate(b)
			dec := bc.dec()
			for b.Loop() {
				res, err := parse(body, meta(), ingest.Limits{}, dec)
				if err != nil || res.Events[0].Class != gateway.ClassAuth {
					b.Fatal(err)
				}
				for _, e := range res.Events {
					if _, err := e.Canonical(); err != nil {
						b.Fatal(err)
					}
				}
			}
			rate(1000)
		})
	}
}

// BenchmarkKDDPath is BenchmarkHandlerPath's fast path on real NSL-KDD
// rows as `make bench` sends them (ingesttest.KDDBody: 1,000 lines of
// about 620 bytes, 41 fields, a nonce each), plus the event id's check
// the store makes: the handler's CPU per event from the body to the
// store's Append. Skipped without the shared data.
func BenchmarkKDDPath(b *testing.B) {
	body := ingesttest.KDDBody(b, 1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		res, err := Parse(body, meta(), ingest.Limits{})
		if err != nil || len(res.Events) != 1000 {
			b.Fatal(err, len(res.Events))
		}
		ingesttest.StoreWork(b, res.Events)
	}
	rate(1000)
}

// TestFieldsCanonicalInRaw pins where a map-free event's fields are: a
// compact record with its names in order (as encoding/json writes one)
// is its own canonical encoding, so FieldsCanonical is those bytes in the
// event's Raw (no second copy, no reference to the request's body);
// another record's encoding is the decoder's, outside Raw.
func TestFieldsCanonicalInRaw(t *testing.T) {
	tests := []struct {
		name, line string
		inRaw      bool
	}{
		{"sorted compact", `{"event":{"a":1,"b":"x","c":[1,2]},"host":"h"}`, false}, // an array is re-encoded: not as written
		{"sorted compact, plain values", `{"event":{"a":1,"b":"x","c":true},"host":"h"}`, true},
		{"unsorted", `{"event":{"b":1,"a":"x"}}`, false},
		{"white space", `{"event":{"a":1, "b":"x"}}`, false},
		{"html in a string", `{"event":{"a":"<"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.line + "\n" + tt.line) // the second line's names predicted from the first's
			res, err := Parse(body, meta(), ingest.Limits{})
			if err != nil || len(res.Events) != 2 {
				t.Fatalf("Parse: %v, %d events", err, len(res.Events))
			}
			for i, ev := range res.Events {
				fc, raw := ev.FieldsCanonical, ev.Raw
				if ev.Fields != nil || fc == nil {
					t.Fatalf("event %d: not map-free (Fields %v)", i, ev.Fields)
				}
				k := bytes.Index(raw, fc)
				in := k >= 0 && &fc[0] == &raw[k] && cap(fc) == len(fc)
				if in != tt.inRaw {
					t.Errorf("event %d: FieldsCanonical %q in Raw %v, want %v", i, fc, in, tt.inRaw)
				}
				body[0] = ' ' // the request's buffer is not referenced
				if c, err := ev.Canonical(); err != nil || !bytes.Contains(c, fc) {
					t.Errorf("event %d: Canonical %q (%v)", i, c, err)
				}
			}
		})
	}
}
