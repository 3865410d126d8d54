package otlp

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// nested returns an AnyValue nested depth levels deep (1: a string),
// alternating arrays and key-value lists.
func nested(depth int) *commonpb.AnyValue {
	v := sv("leaf")
	for d := 2; d <= depth; d++ {
		if d%2 == 0 {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
		} else {
			v = &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{kv("k", v)}}}}
		}
	}
	return v
}

// depthOf is the nesting of a decoded value, as Prescan counts it.
func depthOf(v *commonpb.AnyValue) int {
	d := 0
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue:
		for _, e := range x.ArrayValue.GetValues() {
			d = max(d, depthOf(e))
		}
	case *commonpb.AnyValue_KvlistValue:
		for _, e := range x.KvlistValue.GetValues() {
			d = max(d, depthOf(e.GetValue()))
		}
	}
	return 1 + d
}

// oneRecord is a request with one record whose body is b, in both encodings.
func oneRecord(t *testing.T, res *resourcepb.Resource, recs ...*logspb.LogRecord) (pb, js []byte) {
	t.Helper()
	req := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{Resource: res, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}}
	pb, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	js, err = protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return pb, js
}

// reference decodes body as Parse does, without the pre-scan.
func reference(body []byte, enc Encoding) (*logspb.LogsData, error) {
	var req logspb.LogsData
	if enc == Protobuf {
		return &req, proto.Unmarshal(body, &req)
	}
	if ingest.IsBlank(body) {
		return &req, nil
	}
	fixed, err := hexIDsToBase64(body)
	if err != nil {
		return nil, err
	}
	return &req, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, &req)
}

func TestPrescanCountsRecords(t *testing.T) {
	pb, err := proto.Marshal(request())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
		enc  Encoding
	}{{"protobuf", pb, Protobuf}, {"json", []byte(jsonRequest), JSON}} {
		t.Run(c.name, func(t *testing.T) {
			est, err := Prescan(c.body, c.enc, ingest.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := est.Records, int64(3); got != want {
				t.Errorf("Records = %d, want %d", got, want)
			}
			if est.Values == 0 || est.Raw < int64(len(c.body))/4 || est.Body != int64(len(c.body)) {
				t.Errorf("estimate %+v does not account for the request", est)
			}
		})
	}
}

func TestPrescanLimits(t *testing.T) {
	big := strings.Repeat("r", 10_000)
	bigRes := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("blob", sv(big))}}
	small := make([]*logspb.LogRecord, 1000)
	for i := range small {
		small[i] = &logspb.LogRecord{Body: sv("x")}
	}
	manyAttrs := make([]*commonpb.KeyValue, 20_000)
	for i := range manyAttrs {
		manyAttrs[i] = &commonpb.KeyValue{}
	}
	tests := []struct {
		name string
		res  *resourcepb.Resource
		recs []*logspb.LogRecord
		lim  ingest.Limits
		want gateway.Code
	}{
		{"depth at the limit", nil, []*logspb.LogRecord{{Body: nested(ingest.DefaultMaxDepth)}}, ingest.Limits{}, ""},
		{"depth over the limit", nil, []*logspb.LogRecord{{Body: nested(ingest.DefaultMaxDepth + 1)}}, ingest.Limits{}, gateway.CodeTooLarge},
		{"attribute depth over a small limit", nil, []*logspb.LogRecord{{Attributes: []*commonpb.KeyValue{kv("a", nested(4))}}}, ingest.Limits{MaxDepth: 3}, gateway.CodeTooLarge},
		{"records at the limit", nil, small[:10], ingest.Limits{MaxEvents: 10}, ""},
		{"records over the limit", nil, small[:11], ingest.Limits{MaxEvents: 10}, gateway.CodeTooLarge},
		{"resource repeated in every record within budget", bigRes, small, ingest.Limits{}, ""},
		{"resource repeated in every record over budget", bigRes, small, ingest.Limits{MaxDecodeBytes: 4 << 20}, gateway.CodeTooLarge},
		{"empty attributes over budget", nil, []*logspb.LogRecord{{Attributes: manyAttrs}}, ingest.Limits{MaxDecodeBytes: 1 << 20}, gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		pb, js := oneRecord(t, tt.res, tt.recs...)
		for _, c := range []struct {
			enc  Encoding
			body []byte
		}{{Protobuf, pb}, {JSON, js}} {
			t.Run(tt.name+"/"+c.enc.ContentType(), func(t *testing.T) {
				_, err := Prescan(c.body, c.enc, tt.lim)
				if got := gateway.ErrorCode(err); got != tt.want {
					t.Errorf("Prescan code = %q, want %q (%v)", got, tt.want, err)
				}
				_, err = Parse(c.body, c.enc, meta(), tt.lim)
				if got := gateway.ErrorCode(err); got != tt.want {
					t.Errorf("Parse code = %q, want %q (%v)", got, tt.want, err)
				}
			})
		}
	}
}

func TestPrescanWire(t *testing.T) {
	field := func(num protowire.Number, v []byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
	varintAsResourceLogs := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7)
	tests := []struct {
		name string
		enc  Encoding
		body []byte
		want gateway.Code
	}{
		{"truncated length", Protobuf, []byte{0x0a, 0x05, 0x12}, gateway.CodeInvalid},
		{"bad varint", Protobuf, []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, gateway.CodeInvalid},
		{"field number zero", Protobuf, []byte{0x02, 0x00}, gateway.CodeInvalid},
		{"malformed record", Protobuf, field(1, field(2, field(2, []byte{0x2a, 0x09}))), gateway.CodeInvalid},
		{"known field with another wire type is unknown", Protobuf, varintAsResourceLogs, ""},
		{"unknown group", Protobuf, []byte{0x5b, 0x08, 0x01, 0x5c}, ""},
		{"empty records", Protobuf, field(1, field(2, bytes.Repeat([]byte{0x12, 0x00}, 2))), ""},
		{"unbalanced", JSON, []byte(`{"resourceLogs":[}`), gateway.CodeInvalid},
		{"unterminated string", JSON, []byte(`{"resourceLogs":"`), gateway.CodeInvalid},
		{"escaped names are names", JSON, []byte(`{"resource\u004cogs":[{"scopeLogs":[{"log_records":[{},{},{}]}]}]}`), gateway.CodeTooLarge},
		{"proto names", JSON, []byte(`{"resource_logs":[{"scope_logs":[{"log_records":[{},{},{}]}]}]}`), gateway.CodeTooLarge},
		{"unknown members are not records", JSON, []byte(`{"resourceLogs":[{"scopeLogs":[{"records":[{},{},{}]}]}]}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prescan(tt.body, tt.enc, ingest.Limits{MaxEvents: 2})
			if got := gateway.ErrorCode(err); got != tt.want {
				t.Errorf("code = %q, want %q (%v)", got, tt.want, err)
			}
			if tt.want == "" {
				if _, err := reference(tt.body, tt.enc); err != nil {
					t.Errorf("the reference decoder refuses what the scan passes: %v", err)
				}
			}
		})
	}
}

func FuzzPrescanProtobuf(f *testing.F) {
	pb, _ := proto.Marshal(request())
	f.Add(pb)
	deep, _ := oneRecord(&testing.T{}, nil, &logspb.LogRecord{Body: nested(6)})
	f.Add(deep)
	f.Add([]byte{0x0a, 0x04, 0x12, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) { prescanAgrees(t, body, Protobuf) })
}

func FuzzPrescanJSON(f *testing.F) {
	f.Add([]byte(jsonRequest))
	_, deep := oneRecord(&testing.T{}, nil, &logspb.LogRecord{Body: nested(6)})
	f.Add(deep)
	f.Add([]byte(`{"resource_logs":[{"scope_logs":[{"log_records":[{},{}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) { prescanAgrees(t, body, JSON) })
}

// prescanAgrees checks Prescan against the real decoder: it never refuses
// as malformed what the decoder accepts, never passes what is over the
// record or depth limits, and whatever it passes Parse either accepts or
// refuses as malformed.
func prescanAgrees(t *testing.T, body []byte, enc Encoding) {
	lim := ingest.Limits{MaxEvents: 5, MaxDepth: 4, MaxLineBytes: 4096}
	est, scanErr := Prescan(body, enc, lim)
	if scanErr != nil {
		var ie *ingest.Error
		if !errors.As(scanErr, &ie) || (ie.Code != gateway.CodeInvalid && ie.Code != gateway.CodeTooLarge) {
			t.Fatalf("Prescan error %v is not an invalid or too-large *ingest.Error", scanErr)
		}
	}
	req, decErr := reference(body, enc)
	if decErr == nil {
		if gateway.ErrorCode(scanErr) == gateway.CodeInvalid {
			t.Fatalf("Prescan refuses as malformed what the decoder accepts: %v", scanErr)
		}
		records, depth := 0, 0
		for _, rl := range req.ResourceLogs {
			for _, a := range rl.GetResource().GetAttributes() {
				depth = max(depth, depthOf(a.GetValue()))
			}
			for _, sl := range rl.ScopeLogs {
				for _, a := range sl.GetScope().GetAttributes() {
					depth = max(depth, depthOf(a.GetValue()))
				}
				for _, lr := range sl.LogRecords {
					records++
					if lr.Body != nil {
						depth = max(depth, depthOf(lr.Body))
					}
					for _, a := range lr.Attributes {
						depth = max(depth, depthOf(a.GetValue()))
					}
				}
			}
		}
		if scanErr == nil && (records > lim.MaxEvents || depth > lim.MaxDepth) {
			t.Fatalf("Prescan passes %d records nested %d deep (limits %d, %d)", records, depth, lim.MaxEvents, lim.MaxDepth)
		}
		if scanErr == nil && est.Records != int64(records) {
			t.Fatalf("Prescan counts %d records, the decoder %d", est.Records, records)
		}
	}
	if scanErr != nil {
		return
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse(body, enc, meta(), lim)
	runtime.ReadMemStats(&after)
	if err != nil && gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("Parse of a pre-scanned request: %v, want success or malformed", err)
	}
	// The estimate is of the memory held at the peak; what Parse allocates
	// in all stays within a small multiple of it (plus fixed costs).
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(3*est.Bytes()+1<<20); got > limit {
		t.Fatalf("Parse allocated %d bytes for an estimate of %d (%+v)", got, est.Bytes(), est)
	}
}
