package httpapi

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/esbulk"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/hec"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// Issue 10, finding 4: a value without a canonical encoding is that
// record's error, never a 500, and the records beside it are kept where the
// protocol has per-item results.

const (
	tooEarly = "0000-01-01T00:00:00+00:01" // year -1 in UTC
	tooLate  = "9999-12-31T23:59:59-00:01" // year 10000 in UTC
)

func TestESBulkBadTimestampIsOneItemError(t *testing.T) {
	for _, ts := range []string{tooEarly, tooLate} {
		t.Run(ts, func(t *testing.T) {
			h := newHarness(t, nil)
			body := `{"index":{"_index":"logs"}}` + "\n" + `{"message":"a"}` + "\n" +
				`{"index":{"_index":"logs"}}` + "\n" + `{"message":"b","@timestamp":"` + ts + `"}` + "\n" +
				`{"index":{"_index":"logs"}}` + "\n" + `{"message":"c"}` + "\n"
			w := h.do(req{method: "POST", path: "/_bulk", auth: "ApiKey " + tokES, header: map[string]string{"Content-Type": "application/x-ndjson"}, body: []byte(body)})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
			}
			r := decode[esbulk.BulkResponse](t, w)
			if !r.Errors || len(r.Items) != 3 {
				t.Fatalf("errors %v, %d items: %s", r.Errors, len(r.Items), w.Body)
			}
			var got []int
			for _, it := range r.Items {
				got = append(got, it["index"].Status)
			}
			if want := []int{201, 400, 201}; !equalInts(got, want) {
				t.Errorf("item statuses %v, want %v", got, want)
			}
			if e := r.Items[1]["index"].Error; e == nil || e.Type != "document_parsing_exception" || !strings.Contains(e.Reason, "time outside") {
				t.Errorf("item 1 error %+v", e)
			}
			if got := h.st.Size(); got != 2 {
				t.Errorf("stored %d, want 2", got)
			}
		})
	}
}

func TestNDJSONBadTimeIsOneLineError(t *testing.T) {
	h := newHarness(t, nil)
	body := `{"event":"a"}` + "\n" + `{"event":"b","time":"` + tooLate + `"}` + "\n" + `{"event":{"@timestamp":"` + tooEarly + `"}}` + "\n" + `{"event":"c"}` + "\n"
	w := h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(body)})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	acc := decode[AcceptedResponse](t, w)
	if acc.Accepted != 2 || len(acc.Errors) != 2 || h.st.Size() != 2 {
		t.Fatalf("accepted %d, %d errors, stored %d; want 2, 2, 2: %s", acc.Accepted, len(acc.Errors), h.st.Size(), w.Body)
	}
	for i, want := range []int{2, 3} {
		e := acc.Errors[i]
		if e.Line != want || e.Event == nil || *e.Event != want-1 || e.Code != gateway.CodeInvalid {
			t.Errorf("error %d = %+v, want line %d event %d code invalid", i, e, want, want-1)
		}
	}
	// Nothing acceptable: refused whole with the line named.
	w = h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(`{"event":"b","time":"` + tooEarly + `"}`)})
	if w.Code != http.StatusBadRequest {
		t.Fatalf("all-bad status %d, want 400: %s", w.Code, w.Body)
	}
	if e := decode[errorBody](t, w).Error; e.Line != 1 {
		t.Errorf("all-bad error %+v, want line 1", e)
	}
}

func TestHECBadTimestampNamesTheEvent(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "POST", path: "/services/collector/event", auth: "Splunk " + tokHECNoAck,
		body: []byte(`{"event":"a"}{"event":{"@timestamp":"` + tooLate + `"}}{"event":"c"}`)})
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
	}
	r := decode[hec.Response](t, w)
	if r.Code != hec.CodeInvalidDataFormat || r.InvalidEventNumber == nil || *r.InvalidEventNumber != 1 {
		t.Errorf("answer %s, want code 6 invalid-event-number 1", w.Body)
	}
	if got := h.st.Size(); got != 0 {
		t.Errorf("stored %d, want 0 (HEC refuses a batch whole)", got)
	}
	w = h.do(req{method: "POST", path: "/services/collector/raw?channel=" + channelID, auth: "Splunk " + tokHECNoAck,
		body: []byte("ok\n{\"@timestamp\":\"" + tooEarly + "\"}\n")})
	if w.Code != http.StatusBadRequest || h.st.Size() != 0 {
		t.Errorf("raw: status %d stored %d, want 400 and 0: %s", w.Code, h.st.Size(), w.Body)
	}
}

func TestOTLPNonFiniteAndBadTime(t *testing.T) {
	h := newHarness(t, nil)
	dbl := func(k string, f float64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}}
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	recs := []*logspb.LogRecord{
		{Body: str("nan"), Attributes: []*commonpb.KeyValue{dbl("a", math.NaN()), dbl("b", math.Inf(1)), dbl("c", math.Inf(-1))}},
		{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			{Key: "@timestamp", Value: str(tooLate)}}}}}},
		{Body: str("fine")},
	}
	body, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := h.do(req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/x-protobuf"}, body: body})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	rejected, msg := otlpPartial(t, w.Body.Bytes())
	if rejected != 1 || !strings.Contains(msg, "cannot be stored") {
		t.Errorf("partial success rejected %d %q, want 1", rejected, msg)
	}
	if got := h.st.Size(); got != 2 {
		t.Fatalf("stored %d, want 2", got)
	}
	ev, err := h.st.EventBySeq(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Fields["a"] != "NaN" || ev.Fields["b"] != "Infinity" || ev.Fields["c"] != "-Infinity" {
		t.Errorf("non-finite doubles stored as %v %v %v, want the OTLP JSON spellings", ev.Fields["a"], ev.Fields["b"], ev.Fields["c"])
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
