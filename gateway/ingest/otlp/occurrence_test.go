package otlp

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// Non-finite doubles become the OTLP JSON strings; a record whose time
// cannot be stored is rejected alone; identical records are distinct.
func TestNonFiniteInvalidAndOccurrence(t *testing.T) {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	dbl := func(k string, f float64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}}
	}
	late := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{Key: "@timestamp", Value: str("9999-12-31T23:59:59-00:01")}}}}}
	recs := []*logspb.LogRecord{
		{Body: str("same"), Attributes: []*commonpb.KeyValue{dbl("nan", math.NaN()), dbl("inf", math.Inf(1)), dbl("ninf", math.Inf(-1)), dbl("x", 1.5)}},
		{Body: late},
		{Body: str("same"), Attributes: []*commonpb.KeyValue{dbl("nan", math.NaN()), dbl("inf", math.Inf(1)), dbl("ninf", math.Inf(-1)), dbl("x", 1.5)}},
	}
	body, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := meta()
	m.Key = "k"
	res, err := Parse(body, Protobuf, m, ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 2 || res.Rejected != 1 || res.ErrorMessage == "" {
		t.Fatalf("events %d rejected %d %q, want 2, 1 and a message", len(res.Events), res.Rejected, res.ErrorMessage)
	}
	f := res.Events[0].Fields
	if f["nan"] != "NaN" || f["inf"] != "Infinity" || f["ninf"] != "-Infinity" || f["x"] != 1.5 {
		t.Errorf("fields %v", f)
	}
	if res.Events[0].ID == res.Events[1].ID {
		t.Error("identical records share an id")
	}
	again, _ := Parse(body, Protobuf, m, ingest.Limits{})
	if again.Events[0].ID != res.Events[0].ID || again.Events[1].ID != res.Events[1].ID {
		t.Error("same key and body, different ids")
	}
}
