package hec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

var recv = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func meta() ingest.Meta {
	return ingest.Meta{Source: "http:test", Sourcetype: "", Host: "gw-client", Index: "main", Received: recv}
}

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantN     int
		check     func(t *testing.T, evs []gateway.Event)
		wantCode  gateway.Code
		wantEvent int
	}{
		{name: "string event with numeric time", body: `{"time":1700000000.123456,"host":"web1","source":"app","sourcetype":"custom","index":"sec","event":"hello"}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				e := evs[0]
				if got, want := e.Time, time.Unix(1700000000, 123456000).UTC(); !got.Equal(want) {
					t.Errorf("Time = %v, want %v", got, want)
				}
				if e.Host != "web1" || e.Source != "app" || e.Sourcetype != "custom" || e.Index != "sec" {
					t.Errorf("meta = %q %q %q %q", e.Host, e.Source, e.Sourcetype, e.Index)
				}
				if e.Fields["message"] != "hello" || e.Class != gateway.ClassOther {
					t.Errorf("fields/class = %v %q", e.Fields, e.Class)
				}
				if e.ID != gateway.ComputeID("app", "custom", e.Raw) || !e.Received.Equal(recv) {
					t.Errorf("ID or Received wrong")
				}
			}},
		{name: "string time and defaults", body: `{"time":"1700000000","event":"x"}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				e := evs[0]
				if !e.Time.Equal(time.Unix(1700000000, 0)) || e.Host != "gw-client" || e.Index != "main" || e.Source != "http:test" {
					t.Errorf("got %v %q %q %q", e.Time, e.Host, e.Index, e.Source)
				}
			}},
		{name: "no time falls back to received", body: `{"event":"x"}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				if !evs[0].Time.Equal(recv) {
					t.Errorf("Time = %v", evs[0].Time)
				}
			}},
		{name: "concatenated without separator and raw per event", body: `{"event":"a"}{"event":"b"}` + "\n  " + `{"event":{"k":1}}`, wantN: 3,
			check: func(t *testing.T, evs []gateway.Event) {
				got := []string{string(evs[0].Raw), string(evs[1].Raw), string(evs[2].Raw)}
				want := []string{`{"event":"a"}`, `{"event":"b"}`, `{"event":{"k":1}}`}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("raw = %q, want %q", got, want)
				}
				if f, err := evs[2].FieldValues(); err != nil || f["k"] != json.Number("1") {
					t.Errorf("object event fields = %v (%v)", f, err)
				}
			}},
		{name: "suricata object normalised with indexed fields", body: `{"event":{"event_type":"alert","src_ip":"10.0.0.1","src_port":4444,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","alert":{"signature_id":1,"signature":"test sig","severity":2}},"fields":{"env":"lab","source.ip":"1.1.1.1","tags":["a","b"]}}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				f := evs[0].Fields
				if evs[0].Class != gateway.ClassAlert || f["source.ip"] != "10.0.0.1" || f["env"] != "lab" || f["rule.name"] != "test sig" {
					t.Errorf("class %q fields %v", evs[0].Class, f)
				}
				if evs[0].Sourcetype != "suricata.alert" {
					t.Errorf("Sourcetype = %q", evs[0].Sourcetype)
				}
			}},
		{name: "sshd line as string event", body: `{"event":"Mar  1 11:00:00 bastion sshd[42]: Failed password for root from 203.0.113.9 port 5555 ssh2"}`, wantN: 1,
			check: func(t *testing.T, evs []gateway.Event) {
				f := evs[0].Fields
				if evs[0].Class != gateway.ClassAuth || f["user.name"] != "root" || f["source.port"] != int64(5555) || f["event.outcome"] != "failure" {
					t.Errorf("class %q fields %v", evs[0].Class, f)
				}
			}},
		{name: "empty body", body: "  \n", wantCode: gateway.CodeNoData, wantEvent: -1},
		{name: "not json", body: `hello`, wantCode: gateway.CodeInvalid, wantEvent: 0},
		{name: "second envelope broken", body: `{"event":"a"}{"event":`, wantCode: gateway.CodeInvalid, wantEvent: 1},
		{name: "missing event", body: `{"event":"a"}{"host":"h"}`, wantCode: gateway.CodeMissingField, wantEvent: 1},
		{name: "null event", body: `{"event":null}`, wantCode: gateway.CodeMissingField, wantEvent: 0},
		{name: "blank event", body: `{"event":"a"}{"event":"a"}{"event":"  "}`, wantCode: gateway.CodeBlankField, wantEvent: 2},
		{name: "nested indexed field", body: `{"event":"a","fields":{"x":{"y":1}}}`, wantCode: gateway.CodeInvalidField, wantEvent: 0},
		{name: "fields not object", body: `{"event":"a","fields":[1]}`, wantCode: gateway.CodeInvalidField, wantEvent: 0},
		{name: "bad time", body: `{"event":"a","time":"yesterday"}`, wantCode: gateway.CodeInvalid, wantEvent: 0},
		{name: "host not string", body: `{"event":"a","host":5}`, wantCode: gateway.CodeInvalid, wantEvent: 0},
		{name: "array at top", body: `[{"event":"a"}]`, wantCode: gateway.CodeInvalid, wantEvent: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := ParseEvents([]byte(tt.body), meta(), ingest.Limits{})
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (err %v)", got, tt.wantCode, err)
			}
			if err != nil {
				var ie *ingest.Error
				errors.As(err, &ie)
				if ie.Event != tt.wantEvent {
					t.Errorf("Event = %d, want %d", ie.Event, tt.wantEvent)
				}
				if evs != nil {
					t.Errorf("events returned with error")
				}
				return
			}
			if len(evs) != tt.wantN {
				t.Fatalf("len = %d, want %d", len(evs), tt.wantN)
			}
			if tt.check != nil {
				tt.check(t, evs)
			}
		})
	}
}

func TestParseEventsLimits(t *testing.T) {
	body := []byte(strings.Repeat(`{"event":"abc"}`, 5))
	tests := []struct {
		name string
		lim  ingest.Limits
		want gateway.Code
	}{
		{"within", ingest.Limits{MaxEvents: 5}, ""},
		{"too many events", ingest.Limits{MaxEvents: 4}, gateway.CodeTooLarge},
		{"body too large", ingest.Limits{MaxBodyBytes: 10}, gateway.CodeTooLarge},
		{"envelope too long", ingest.Limits{MaxLineBytes: 8}, gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvents(body, meta(), tt.lim)
			if got := gateway.ErrorCode(err); got != tt.want {
				t.Errorf("code = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRaw(t *testing.T) {
	body := "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n" +
		"1700000000.5\tCabc\t10.1.1.1\t5353\t10.1.1.53\t53\tudp\texample.org\n\n" +
		"plain text line\r\n"
	q := url.Values{"sourcetype": {"zeek"}, "host": {"sensor1"}, "index": {"net"}, "source": {"dns.log"}}
	m := MetaFromQuery(q, meta())
	evs, err := ParseRaw([]byte(body), m, ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("len = %d, want 2 (header lines consumed, blank skipped)", len(evs))
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"class", evs[0].Class, gateway.ClassDNS},
		{"query", evs[0].Fields["dns.question.name"], "example.org"},
		{"time", evs[0].Time, time.Unix(1700000000, 500000000).UTC()},
		{"host", evs[0].Host, "sensor1"},
		{"index", evs[0].Index, "net"},
		{"raw", string(evs[1].Raw), "plain text line"},
		{"other", evs[1].Class, gateway.ClassOther},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if _, err := ParseRaw([]byte("\n\n"), m, ingest.Limits{}); gateway.ErrorCode(err) != gateway.CodeNoData {
		t.Errorf("blank raw body: %v", err)
	}
}

func TestChannel(t *testing.T) {
	const guid = "0A6E33E7-51C7-4BB5-8F72-5B3C4F0E9D21"
	tests := []struct {
		name     string
		header   string
		query    string
		required bool
		want     string
		wantCode Code
	}{
		{"header", guid, "", true, guid, CodeSuccess},
		{"query", "", guid, true, guid, CodeSuccess},
		{"missing required", "", "", true, "", CodeChannelMissing},
		{"missing optional", "", "", false, "", CodeSuccess},
		{"invalid", "not-a-guid", "", false, "", CodeInvalidChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code := Channel(tt.header, url.Values{"channel": {tt.query}}, tt.required)
			if got != tt.want || code != tt.wantCode {
				t.Errorf("Channel() = %q, %d; want %q, %d", got, code, tt.want, tt.wantCode)
			}
		})
	}
}

func TestParseAck(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []uint64
		wantCode gateway.Code
	}{
		{"two", `{"acks":[0,1]}`, []uint64{0, 1}, ""},
		{"empty list", `{"acks":[]}`, []uint64{}, ""},
		{"no acks", `{}`, nil, gateway.CodeInvalid},
		{"negative", `{"acks":[-1]}`, nil, gateway.CodeInvalid},
		{"trailing", `{"acks":[1]} x`, nil, gateway.CodeInvalid},
		{"empty", ``, nil, gateway.CodeNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAck([]byte(tt.body), ingest.Limits{})
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", c, tt.wantCode, err)
			}
			if err == nil && fmt.Sprint(got.Acks) != fmt.Sprint(tt.want) {
				t.Errorf("acks = %v, want %v", got.Acks, tt.want)
			}
		})
	}
}

func TestCodeTable(t *testing.T) {
	tests := []struct {
		code   Code
		text   string
		status int
	}{
		{0, "Success", 200}, {1, "Token disabled", 403}, {2, "Token is required", 401},
		{3, "Invalid authorization", 401}, {4, "Invalid token", 403}, {5, "No data", 400},
		{6, "Invalid data format", 400}, {7, "Incorrect index", 400}, {8, "Internal server error", 500},
		{9, "Server is busy", 503}, {10, "Data channel is missing", 400}, {11, "Invalid data channel", 400},
		{12, "Event field is required", 400}, {13, "Event field cannot be blank", 400}, {14, "ACK is disabled", 400},
		{15, "Error in handling indexed fields", 400}, {16, "Query string authorization is not enabled", 400},
		{17, "Unknown", 500},
	}
	for _, tt := range tests {
		if got := tt.code.Text(); got != tt.text {
			t.Errorf("Code(%d).Text() = %q, want %q", tt.code, got, tt.text)
		}
		if got := tt.code.HTTPStatus(); got != tt.status {
			t.Errorf("Code(%d).HTTPStatus() = %d, want %d", tt.code, got, tt.status)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGoldenResponses pins every HEC response body shape byte for byte.
func TestGoldenResponses(t *testing.T) {
	for c := CodeSuccess; c <= CodeQueryStringAuthDenied; c++ {
		ingesttest.Golden(t, fmt.Sprintf("code_%02d.json", int(c)), mustJSON(t, NewResponse(c)))
	}
	ingesttest.Golden(t, "success_ack.json", mustJSON(t, SuccessAck(7)))
	_, err := ParseEvents([]byte(`{"event":"a"}{"event":""}`), meta(), ingest.Limits{})
	status, r := ErrorResponse(err)
	ingesttest.Golden(t, "error_blank_event.json", append([]byte(fmt.Sprintf("%d ", status)), mustJSON(t, r)...))
	_, err = ParseEvents([]byte(`{"event":"a"} nope`), meta(), ingest.Limits{})
	status, r = ErrorResponse(err)
	ingesttest.Golden(t, "error_invalid_format.json", append([]byte(fmt.Sprintf("%d ", status)), mustJSON(t, r)...))
	_, err = ParseEvents([]byte(`{"event":"a"}{"event":"b"}`), meta(), ingest.Limits{MaxEvents: 1})
	status, r = ErrorResponse(err)
	ingesttest.Golden(t, "error_too_large.json", append([]byte(fmt.Sprintf("%d ", status)), mustJSON(t, r)...))
	status, r = ErrorResponse(errors.New("disk on fire"))
	ingesttest.Golden(t, "error_internal.json", append([]byte(fmt.Sprintf("%d ", status)), mustJSON(t, r)...))
	req, err := ParseAck([]byte(`{"acks":[0,1,2]}`), ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.Golden(t, "ack_response.json", mustJSON(t, NewAckResponse(req, func(id uint64) bool { return id != 1 })))
}

func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"event":"x","time":1.5}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseEvents(body, meta(), ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096})
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || evs != nil {
				t.Fatalf("error %v is not an *ingest.Error or events returned", err)
			}
			return
		}
		for _, e := range evs {
			if e.ID != gateway.ComputeID(e.Source, e.Sourcetype, e.Raw) || len(e.Raw) == 0 || e.Time.IsZero() {
				t.Fatalf("bad event %+v", e)
			}
			if !json.Valid(e.Raw) {
				t.Fatalf("raw is not one JSON envelope: %q", e.Raw)
			}
			if _, err := e.Canonical(); err != nil {
				t.Fatalf("accepted event does not canonicalise: %v", err)
			}
		}
	})
}

func FuzzParseRaw(f *testing.F) {
	f.Add([]byte("line one\nline two\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseRaw(body, meta(), ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096})
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *ingest.Error", err)
			}
			return
		}
		for _, e := range evs {
			if e.ID != gateway.ComputeID(e.Source, e.Sourcetype, e.Raw) || strings.ContainsRune(string(e.Raw), '\n') {
				t.Fatalf("bad event %+v", e)
			}
			if _, err := e.Canonical(); err != nil {
				t.Fatalf("accepted event does not canonicalise: %v", err)
			}
		}
	})
}

func BenchmarkParseEvents(b *testing.B) {
	one := `{"time":1700000000.123,"host":"web1","sourcetype":"suricata","event":{"timestamp":"2026-03-01T11:00:00.000000+0000","flow_id":123456789,"event_type":"flow","src_ip":"10.0.0.1","src_port":50000,"dest_ip":"10.0.0.2","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":10,"pkts_toclient":12,"bytes_toserver":1500,"bytes_toclient":9000,"state":"closed"}}}` + "\n"
	body := []byte(strings.Repeat(one, 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := ParseEvents(body, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}

func BenchmarkParseRaw(b *testing.B) {
	one := "Mar  1 11:00:00 bastion sshd[4242]: Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2\n"
	body := []byte(strings.Repeat(one, 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := ParseRaw(body, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}
