package ndjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

var recv = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func meta() ingest.Meta {
	return ingest.Meta{Source: "api", Sourcetype: "", Host: "client", Received: recv}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantN     int
		check     func(t *testing.T, evs []gateway.Event)
		wantCode  gateway.Code
		wantLine  int
		wantEvent int
	}{
		{name: "string event rfc3339", body: `{"time":"2026-02-01T10:00:00.5Z","source":"s","sourcetype":"st","host":"h","index":"i","event":"hello"}` + "\n", wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				e := evs[0]
				if !e.Time.Equal(time.Date(2026, 2, 1, 10, 0, 0, 5e8, time.UTC)) || e.Source != "s" || e.Sourcetype != "st" || e.Host != "h" || e.Index != "i" {
					t.Errorf("got %+v", e)
				}
				if e.ID != gateway.ComputeID("s", "st", e.Raw) || string(e.Raw) != `{"time":"2026-02-01T10:00:00.5Z","source":"s","sourcetype":"st","host":"h","index":"i","event":"hello"}` {
					t.Errorf("raw/id wrong: %q", e.Raw)
				}
			}},
		{name: "epoch number and fields only", body: `{"time":1700000000.25,"fields":{"EventID":4625,"Channel":"Security","TargetUserName":"bob","IpAddress":"192.0.2.4","IpPort":"5000"}}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				e := evs[0]
				if !e.Time.Equal(time.Unix(1700000000, 25e7)) || e.Class != gateway.ClassAuth || e.Fields["event.outcome"] != "failure" || e.Fields["user.name"] != "bob" {
					t.Errorf("got %v %q %v", e.Time, e.Class, e.Fields)
				}
			}},
		{name: "object event plus extra fields", body: `{"event":{"msg":"x"},"fields":{"team":"blue"}}` + "\r\n\n" + `{"event":"y"}`, wantN: 2,
			check: func(t *testing.T, evs []gateway.Event) {
				if evs[0].Fields["team"] != "blue" || evs[0].Fields["msg"] != "x" || !evs[0].Time.Equal(recv) {
					t.Errorf("fields %v time %v", evs[0].Fields, evs[0].Time)
				}
			}},
		{name: "a member repeated with null last keeps the default", body: `{"source":"evil","source":null,"host":"h1","Host":null,"event":{"x":1}}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				if e := evs[0]; e.Source != "api" || e.Host != "client" {
					t.Errorf("source %q host %q, want the request's api and client", e.Source, e.Host)
				}
			}},
		{name: "bad json names line", body: "{\"event\":\"a\"}\n\n{\"event\":", wantCode: gateway.CodeInvalid, wantLine: 3, wantEvent: 1},
		{name: "missing event", body: `{"time":1}`, wantCode: gateway.CodeMissingField, wantLine: 1, wantEvent: 0},
		{name: "blank event", body: `{"event":""}`, wantCode: gateway.CodeBlankField, wantLine: 1, wantEvent: 0},
		{name: "event wrong type", body: `{"event":[1]}`, wantCode: gateway.CodeInvalidField, wantLine: 1, wantEvent: 0},
		{name: "bad time", body: `{"event":"a","time":"noon"}`, wantCode: gateway.CodeInvalid, wantLine: 1, wantEvent: 0},
		{name: "two values on a line", body: `{"event":"a"} {"event":"b"}`, wantCode: gateway.CodeInvalid, wantLine: 1, wantEvent: 0},
		{name: "empty", body: "\n", wantCode: gateway.CodeNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse([]byte(tt.body), meta(), ingest.Limits{})
			evs := res.Events
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", got, tt.wantCode, err)
			}
			if err != nil {
				var ie *ingest.Error
				errors.As(err, &ie)
				if tt.wantLine != 0 && (ie.Line != tt.wantLine || ie.Event != tt.wantEvent) {
					t.Errorf("line/event = %d/%d, want %d/%d", ie.Line, ie.Event, tt.wantLine, tt.wantEvent)
				}
				return
			}
			if len(evs) != tt.wantN {
				t.Fatalf("len = %d, want %d", len(evs), tt.wantN)
			}
			tt.check(t, evs)
		})
	}
}

// A line with a value that has no canonical encoding is that line's error;
// the lines beside it are accepted (issue 10, finding 4).
func TestParseLineErrors(t *testing.T) {
	body := `{"event":"a"}` + "\n" +
		`{"event":"b","time":"0000-01-01T00:00:00+00:01"}` + "\n" +
		`{"event":{"@timestamp":"9999-12-31T23:59:59-00:01"}}` + "\n" +
		`{"event":"c","time":"noon"}` + "\n" +
		`{"event":""}` + "\n" +
		`{"event":"d"}`
	res, err := Parse([]byte(body), meta(), ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(res.Events), 2; got != want {
		t.Fatalf("events = %d, want %d", got, want)
	}
	type pos struct {
		code        gateway.Code
		line, event int
	}
	var got []pos
	for _, ie := range res.Errors {
		got = append(got, pos{ie.Code, ie.Line, ie.Event})
	}
	want := []pos{{gateway.CodeInvalidField, 2, 1}, {gateway.CodeInvalidField, 3, 2}, {gateway.CodeInvalid, 4, 3}, {gateway.CodeBlankField, 5, 4}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
	for _, bad := range []string{`{"event":"b","time":"0000-01-01T00:00:00+00:01"}`, `{"time":"9999-12-31T23:59:59-00:01","event":"x"}`} {
		if _, err := Parse([]byte(bad), meta(), ingest.Limits{}); gateway.ErrorCode(err) != gateway.CodeInvalidField {
			t.Errorf("Parse(%s) = %v, want invalid field", bad, err)
		}
	}
}

// Identical lines are distinct occurrences; the same key and body give the
// same ids (issue 10, finding 5).
func TestParseOccurrenceIDs(t *testing.T) {
	body := []byte(strings.Repeat(`{"event":"Failed password for root from 192.0.2.1 port 22 ssh2"}`+"\n", 3))
	m := meta()
	m.Key = "k1"
	a, err := Parse(body, m, ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range a.Events {
		seen[e.ID] = true
	}
	if len(seen) != 3 {
		t.Errorf("distinct ids = %d, want 3", len(seen))
	}
	b, _ := Parse(body, m, ingest.Limits{})
	m.Key = "k2"
	c, _ := Parse(body, m, ingest.Limits{})
	for i := range a.Events {
		if a.Events[i].ID != b.Events[i].ID {
			t.Errorf("event %d: same key and body, ids differ", i)
		}
		if a.Events[i].ID == c.Events[i].ID {
			t.Errorf("event %d: another key, same id", i)
		}
	}
}

func TestLimits(t *testing.T) {
	body := []byte(strings.Repeat(`{"event":"abcdef"}`+"\n", 3))
	tests := []struct {
		name     string
		lim      ingest.Limits
		wantCode gateway.Code
		wantLine int
	}{
		{"ok", ingest.Limits{MaxEvents: 3}, "", 0},
		{"events", ingest.Limits{MaxEvents: 2}, gateway.CodeTooLarge, 3},
		{"line", ingest.Limits{MaxLineBytes: 10}, gateway.CodeTooLarge, 1},
		{"body", ingest.Limits{MaxBodyBytes: 20}, gateway.CodeTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(body, meta(), tt.lim)
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v", got, tt.wantCode)
			}
			var ie *ingest.Error
			if errors.As(err, &ie) && ie.Line != tt.wantLine {
				t.Errorf("line = %d, want %d", ie.Line, tt.wantLine)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{``, time.Time{}, false},
		{`null`, time.Time{}, false},
		{`1700000000`, time.Unix(1700000000, 0), false},
		{`1700000000.000001`, time.Unix(1700000000, 1000), false},
		{`"1700000000.5"`, time.Unix(1700000000, 5e8), false},
		{`"2026-01-01T00:00:00+01:00"`, time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), false},
		{`-5`, time.Time{}, true},
		{`true`, time.Time{}, true},
		{`"soon"`, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTime(json.RawMessage(tt.in))
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%s) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"event":"x","time":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Parse(body, meta(), ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096})
		evs := res.Events
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || evs != nil || res.Errors != nil {
				t.Fatalf("bad error %v", err)
			}
			if ie.Code == gateway.CodeInvalid && ie.Line == 0 {
				t.Fatalf("malformed error without a line: %v", err)
			}
			return
		}
		for _, e := range evs {
			if e.ID != gateway.ComputeID(e.Source, e.Sourcetype, e.Raw) || e.Time.IsZero() {
				t.Fatalf("bad event %+v", e)
			}
			if _, err := e.Canonical(); err != nil {
				t.Fatalf("accepted event does not canonicalise: %v", err)
			}
		}
		for _, ie := range res.Errors {
			if ie.Line == 0 || ie.Event < 0 {
				t.Fatalf("line error without its position: %v", ie)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	one := `{"time":1700000000.5,"sourcetype":"zeek","event":{"ts":1700000000.5,"uid":"CabcDEF","id.orig_h":"10.0.0.1","id.orig_p":50000,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"example.org","qtype_name":"A","rcode_name":"NOERROR"}}` + "\n"
	body := []byte(strings.Repeat(one, 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := Parse(body, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}

// BenchmarkParseFlows parses a 1000-line body of 41-field flow records (the
// NSL-KDD rows make bench replays), the NDJSON parser's share of ingest.
func BenchmarkParseFlows(b *testing.B) {
	var one strings.Builder
	one.WriteString(`{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"event.category":"network","kdd.protocol_type":"tcp","kdd.service":"http","kdd.flag":"SF"`)
	for i := range 38 {
		fmt.Fprintf(&one, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	one.WriteString("}}\n")
	body := []byte(strings.Repeat(one.String(), 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := Parse(body, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}
