package otlp

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

var recv = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func meta() ingest.Meta { return ingest.Meta{Source: "otel", Received: recv} }

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// request builds a request with three records: an sshd line, a kvlist body
// (Zeek DNS shape) and an empty record that must be rejected.
func request() *logspb.LogsData {
	tid, _ := hex.DecodeString("5b8efff798038103d269b633813fc60c")
	sid, _ := hex.DecodeString("eee19b7ec3c1b174")
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("host.name", sv("bastion")), kv("service.name", sv("sshd"))}},
		ScopeLogs: []*logspb.ScopeLogs{{
			Scope: &commonpb.InstrumentationScope{Name: "filelog"},
			LogRecords: []*logspb.LogRecord{
				{TimeUnixNano: 1_700_000_000_000_000_001, SeverityNumber: 9, SeverityText: "INFO", TraceId: tid, SpanId: sid,
					Body:       sv("Mar  1 11:00:00 bastion sshd[7]: Accepted publickey for alice from 192.0.2.10 port 6000 ssh2"),
					Attributes: []*commonpb.KeyValue{kv("log.file.name", sv("auth.log"))}},
				{ObservedTimeUnixNano: 1_700_000_001_000_000_000,
					Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
						kv("uid", sv("C1")), kv("id.orig_h", sv("10.0.0.1")), kv("id.orig_p", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 5000}}),
						kv("id.resp_h", sv("10.0.0.53")), kv("id.resp_p", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 53}}),
						kv("proto", sv("udp")), kv("query", sv("example.net")),
					}}}}},
				{},
			},
		}},
	}}}
}

const jsonRequest = `{"resourceLogs":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"bastion"}},{"key":"service.name","value":{"stringValue":"sshd"}}]},
"scopeLogs":[{"scope":{"name":"filelog"},"logRecords":[
{"timeUnixNano":"1700000000000000001","severityNumber":9,"severityText":"INFO","traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
 "body":{"stringValue":"Mar  1 11:00:00 bastion sshd[7]: Accepted publickey for alice from 192.0.2.10 port 6000 ssh2"},"attributes":[{"key":"log.file.name","value":{"stringValue":"auth.log"}}]},
{"observedTimeUnixNano":1700000001000000000,"body":{"kvlistValue":{"values":[{"key":"uid","value":{"stringValue":"C1"}},{"key":"id.orig_h","value":{"stringValue":"10.0.0.1"}},{"key":"id.orig_p","value":{"intValue":"5000"}},{"key":"id.resp_h","value":{"stringValue":"10.0.0.53"}},{"key":"id.resp_p","value":{"intValue":53}},{"key":"proto","value":{"stringValue":"udp"}},{"key":"query","value":{"stringValue":"example.net"}}]}}},
{"unknownField":true}
]}]}]}`

func TestParseBothEncodings(t *testing.T) {
	pb, err := proto.Marshal(request())
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(pb)
	zw.Close()
	tests := []struct {
		name, ctype, cenc string
		body              []byte
	}{
		{"protobuf", "application/x-protobuf", "", pb},
		{"protobuf gzip", "application/x-protobuf", "gzip", zipped.Bytes()},
		{"json", "application/json; charset=utf-8", "", []byte(jsonRequest)},
	}
	var ids [][]string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, enc, err := ParseRequest(bytes.NewReader(tt.body), tt.ctype, tt.cenc, meta(), ingest.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.HasPrefix(tt.ctype, "application/json"); (enc == JSON) != want {
				t.Errorf("encoding = %v", enc)
			}
			if len(res.Events) != 2 || res.Rejected != 1 {
				t.Fatalf("events %d rejected %d (%s)", len(res.Events), res.Rejected, res.ErrorMessage)
			}
			a, d := res.Events[0], res.Events[1]
			checks := []struct {
				name      string
				got, want any
			}{
				{"auth class", a.Class, gateway.ClassAuth},
				{"user", a.Fields["user.name"], "alice"},
				{"outcome", a.Fields["event.outcome"], "success"},
				{"trace", a.Fields["trace.id"], "5b8efff798038103d269b633813fc60c"},
				{"span", a.Fields["span.id"], "eee19b7ec3c1b174"},
				{"severity", a.Fields["log.level"], "INFO"},
				{"attr", a.Fields["log.file.name"], "auth.log"},
				{"resource attr", a.Fields["service.name"], "sshd"},
				{"time", a.Time, time.Unix(0, 1_700_000_000_000_000_001).UTC()},
				{"host", a.Host, "bastion"},
				{"dns class", d.Class, gateway.ClassDNS},
				{"dns port", d.Fields["source.port"], int64(5000)},
				{"observed time", d.Time, time.Unix(1_700_000_001, 0).UTC()},
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			// Raw must be one self-contained LogsData holding just that record.
			var one logspb.LogsData
			if err := proto.Unmarshal(a.Raw, &one); err != nil || len(one.ResourceLogs[0].ScopeLogs[0].LogRecords) != 1 {
				t.Errorf("raw is not a one-record LogsData: %v", err)
			}
			ids = append(ids, []string{a.ID, d.ID})
		})
	}
	// The same records give the same ids whatever the encoding.
	for i := 1; i < len(ids); i++ {
		if fmt.Sprint(ids[i]) != fmt.Sprint(ids[0]) {
			t.Errorf("ids differ across encodings: %v vs %v", ids[i], ids[0])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, ctype, cenc string
		body              string
		lim               ingest.Limits
		want              gateway.Code
	}{
		{"bad protobuf", "application/x-protobuf", "", "\xff\xff\xff", ingest.Limits{}, gateway.CodeInvalid},
		{"bad json", "application/json", "", `{"resourceLogs":`, ingest.Limits{}, gateway.CodeInvalid},
		{"bad trace id", "application/json", "", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz","body":{"stringValue":"x"}}]}]}]}`, ingest.Limits{}, gateway.CodeInvalid},
		{"short span id", "application/json", "", `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"abcd","body":{"stringValue":"x"}}]}]}]}`, ingest.Limits{}, gateway.CodeInvalid},
		{"unsupported type", "text/plain", "", "x", ingest.Limits{}, gateway.CodeUnsupported},
		{"unsupported encoding", "application/json", "br", "x", ingest.Limits{}, gateway.CodeUnsupported},
		{"too many", "application/json", "", jsonRequest, ingest.Limits{MaxEvents: 2}, gateway.CodeTooLarge},
		{"body too large", "application/json", "", jsonRequest, ingest.Limits{MaxBodyBytes: 100}, gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseRequest(strings.NewReader(tt.body), tt.ctype, tt.cenc, meta(), tt.lim)
			if got := gateway.ErrorCode(err); got != tt.want {
				t.Errorf("code = %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
	res, err := Parse(nil, Protobuf, meta(), ingest.Limits{})
	if err != nil || len(res.Events) != 0 {
		t.Errorf("empty export: %v %v", res, err)
	}
	res, err = Parse(nil, JSON, meta(), ingest.Limits{})
	if err != nil || len(res.Events) != 0 {
		t.Errorf("empty JSON export: %v %v", res, err)
	}
	res, err = Parse([]byte(jsonRequest), JSON, meta(), ingest.Limits{MaxLineBytes: 100})
	if err != nil || res.Rejected != 3 || len(res.Events) != 0 {
		t.Errorf("oversize records: %+v %v", res, err)
	}
}

func TestGoldenResponses(t *testing.T) {
	ok := Result{}
	partial := Result{Rejected: 2, ErrorMessage: "2 log records had neither body nor attributes"}
	for _, c := range []struct {
		name string
		enc  Encoding
		res  Result
	}{
		{"success.json", JSON, ok}, {"success.pb", Protobuf, ok},
		{"partial.json", JSON, partial}, {"partial.pb", Protobuf, partial},
	} {
		b, err := MarshalResponse(c.enc, c.res)
		if err != nil {
			t.Fatal(err)
		}
		ingesttest.Golden(t, c.name, b)
	}
	for _, c := range []struct {
		name string
		enc  Encoding
		err  error
	}{
		{"error_malformed.json", JSON, ingest.Errorf(gateway.CodeInvalid, "otlp", 0, -1, "bad")},
		{"error_malformed.pb", Protobuf, ingest.Errorf(gateway.CodeInvalid, "otlp", 0, -1, "bad")},
		{"error_too_large.json", JSON, ingest.Errorf(gateway.CodeTooLarge, "otlp", 0, -1, "big")},
		{"error_internal.json", JSON, errors.New("secret detail")},
	} {
		b, err := MarshalError(c.enc, c.err)
		if err != nil {
			t.Fatal(err)
		}
		ingesttest.Golden(t, c.name, b)
	}
}

func FuzzParseProtobuf(f *testing.F) {
	pb, _ := proto.Marshal(request())
	f.Add(pb)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzCheck(t, body, Protobuf)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(jsonRequest))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzCheck(t, body, JSON)
	})
}

func fuzzCheck(t *testing.T, body []byte, enc Encoding) {
	res, err := Parse(body, enc, meta(), ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096})
	if err != nil {
		var ie *ingest.Error
		if !errors.As(err, &ie) {
			t.Fatalf("bad error %v", err)
		}
		return
	}
	for _, e := range res.Events {
		var one logspb.LogsData
		if proto.Unmarshal(e.Raw, &one) != nil || e.ID != gateway.ComputeID(e.Source, e.Sourcetype, e.Raw) {
			t.Fatalf("bad event")
		}
		if _, err := e.Canonical(); err != nil {
			t.Fatalf("accepted event does not canonicalise: %v", err)
		}
	}
}

func benchRequest(n int) *logspb.LogsData {
	req := request()
	recs := req.ResourceLogs[0].ScopeLogs[0].LogRecords[:2]
	var all []*logspb.LogRecord
	for len(all) < n {
		all = append(all, recs...)
	}
	req.ResourceLogs[0].ScopeLogs[0].LogRecords = all[:n]
	return req
}

func BenchmarkParseProtobuf(b *testing.B) {
	body, _ := proto.Marshal(benchRequest(1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := Parse(body, Protobuf, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}

func BenchmarkParseJSON(b *testing.B) {
	recs := strings.Repeat(`{"timeUnixNano":"1700000000000000001","severityText":"INFO","body":{"stringValue":"Mar  1 11:00:00 bastion sshd[7]: Failed password for root from 192.0.2.10 port 6000 ssh2"}},`, 1000)
	body := []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"bastion"}}]},"scopeLogs":[{"logRecords":[` + strings.TrimSuffix(recs, ",") + `]}]}]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := Parse(body, JSON, meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}
