package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/esbulk"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/hec"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/otlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// The ingest fuzzers drive each handler through the real router and a real
// store (the harness) and assert, for every input: the status is below 500
// (client input never makes a server error), and what the answer says was
// accepted is exactly what the store gained, by count and by id.

// fuzzDo serves one request on h without touching h.t (fuzz workers must
// report through their own t).
func fuzzDo(h *harness, r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, hr)
	return w
}

// accepted is one (seq, id) the answer says is stored; id "" when the
// answer gives none to compare.
type accepted struct {
	seq uint64
	id  string
}

// checkStored asserts that the store grew from before to exactly the
// accepted seqs at or above before, and that every accepted seq holds the
// id the answer gave (a replayed occurrence may name an older seq).
func checkStored(t *testing.T, h *harness, before uint64, acc []accepted) {
	t.Helper()
	after := h.st.Size()
	fresh := map[uint64]bool{}
	for _, a := range acc {
		if a.seq >= after {
			t.Fatalf("answer names seq %d, store size is %d", a.seq, after)
		}
		if a.seq >= before {
			fresh[a.seq] = true
		}
		ev, err := h.st.EventBySeq(context.Background(), a.seq)
		if err != nil {
			t.Fatalf("accepted seq %d not stored: %v", a.seq, err)
		}
		if a.id != "" && ev.ID != a.id {
			t.Fatalf("seq %d holds id %s, answer says %s", a.seq, ev.ID, a.id)
		}
	}
	if uint64(len(fresh)) != after-before {
		t.Fatalf("store grew by %d, answer accepted %d new events", after-before, len(fresh))
	}
}

func checkNoGrowth(t *testing.T, h *harness, before uint64, w *httptest.ResponseRecorder) {
	t.Helper()
	if after := h.st.Size(); after != before {
		t.Fatalf("status %d but the store grew by %d: %s", w.Code, after-before, w.Body)
	}
}

func check5xx(t *testing.T, w *httptest.ResponseRecorder, input []byte) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d for client input %q: %s", w.Code, input, w.Body)
	}
}

func FuzzNDJSONHandler(f *testing.F) {
	f.Add([]byte(`{"event":"a"}`+"\n"+`{"event":"a"}`), "")
	f.Add([]byte(`{"event":"a","time":"`+tooEarly+`"}`+"\n"+`{"event":"b"}`), "k")
	f.Add([]byte(`{"event":{"@timestamp":"`+tooLate+`"}}`+"\n"+`{"fields":{"x":1}}`), "k")
	f.Add([]byte(`{"event":"a"}`+"\n"+`{"event": nope}`), "")
	f.Add([]byte(`{"event":"x","index":"hr"}`), "")
	h := newHarness(f, nil)
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		before := h.st.Size()
		w := fuzzDo(h, req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON,
			header: map[string]string{HeaderIdempotencyKey: key}, body: body})
		check5xx(t, w, body)
		if w.Code != http.StatusOK {
			checkNoGrowth(t, h, before, w)
			return
		}
		var r AcceptedResponse
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Accepted != len(r.Events) || r.Accepted == 0 {
			t.Fatalf("accepted %d with %d events", r.Accepted, len(r.Events))
		}
		acc := make([]accepted, len(r.Events))
		for i, e := range r.Events {
			acc[i] = accepted{e.Seq, e.ID}
		}
		checkStored(t, h, before, acc)
	})
}

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func FuzzESBulkHandler(f *testing.F) {
	f.Add([]byte(bulkBody))
	f.Add([]byte(`{"index":{"_index":"logs"}}` + "\n" + `{"m":1}` + "\n" + `{"index":{"_index":"logs"}}` + "\n" + `{"m":1,"@timestamp":"` + tooLate + `"}` + "\n" + `{"create":{"_index":"logs","_id":"a"}}` + "\n" + `{"m":1}` + "\n"))
	f.Add([]byte(`{"index":{"_index":"logs","_id":"a"}}` + "\n" + `{"m":2}` + "\n" + `{"index":{"_index":"logs","_id":"a"}}` + "\n" + `{"m":2}` + "\n"))
	f.Add([]byte(`{"index":{"_index":"logs"}}` + "\n" + `{"@timestamp":"` + tooEarly + `"}` + "\n"))
	h := newHarness(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := h.st.Size()
		w := fuzzDo(h, req{method: "POST", path: "/_bulk", auth: "ApiKey " + tokES, header: map[string]string{"Content-Type": "application/x-ndjson"}, body: body})
		check5xx(t, w, body)
		if w.Code != http.StatusOK {
			checkNoGrowth(t, h, before, w)
			return
		}
		var r esbulk.BulkResponse
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		var acc []accepted
		errs := false
		for _, item := range r.Items {
			for _, it := range item {
				if it.Status != http.StatusCreated {
					errs = true
					if it.Error == nil || it.SeqNo != nil {
						t.Fatalf("refused item without error or with a seq: %+v", it)
					}
					continue
				}
				if it.SeqNo == nil {
					t.Fatalf("created item without _seq_no: %+v", it)
				}
				a := accepted{seq: *it.SeqNo}
				if !bytes.Contains(body, []byte(`_id`)) && hexID.MatchString(it.ID) {
					a.id = it.ID // no client _id anywhere: _id is the event id
				}
				acc = append(acc, a)
			}
		}
		if errs != r.Errors {
			t.Fatalf("errors flag %v, items say %v", r.Errors, errs)
		}
		checkStored(t, h, before, acc)
	})
}

func FuzzHECHandler(f *testing.F) {
	f.Add([]byte(`{"event":"a"}{"event":"a"}`), false)
	f.Add([]byte(`{"event":{"@timestamp":"`+tooLate+`"}}{"event":"b"}`), false)
	f.Add([]byte(`{"event":"a","time":1e300}`), false)
	f.Add([]byte(sshdLine+"\n"+sshdLine+"\n"), true)
	f.Add([]byte("{\"@timestamp\":\""+tooEarly+"\"}\nok\n"), true)
	h := newHarness(f, nil)
	lim := testConfig().Limits
	f.Fuzz(func(t *testing.T, body []byte, raw bool) {
		before := h.st.Size()
		path := "/services/collector/event"
		if raw {
			path = "/services/collector/raw?channel=" + channelID
		}
		w := fuzzDo(h, req{method: "POST", path: path, auth: "Splunk " + tokHECNoAck, body: body})
		check5xx(t, w, body)
		if w.Code != http.StatusOK {
			checkNoGrowth(t, h, before, w)
			return
		}
		// HEC's success names no events: all of the request's events, as
		// the parser reads them, must have been stored, each once.
		m := ingest.Meta{Key: "fuzz", Received: t0}
		var evs int
		if raw {
			e, err := hec.ParseRaw(body, m, lim)
			if err != nil {
				t.Fatalf("200 for a body the parser refuses: %v", err)
			}
			evs = len(e)
		} else {
			e, err := hec.ParseEvents(body, m, lim)
			if err != nil {
				t.Fatalf("200 for a body the parser refuses: %v", err)
			}
			evs = len(e)
		}
		if got := h.st.Size() - before; got != uint64(evs) {
			t.Fatalf("200 with %d events, store grew by %d", evs, got)
		}
	})
}

func FuzzOTLPHandler(f *testing.F) {
	seed := func(recs ...*logspb.LogRecord) []byte {
		b, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	nan := &commonpb.KeyValue{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.NaN()}}}
	late := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{Key: "@timestamp", Value: str(tooLate)}}}}}
	f.Add(seed(&logspb.LogRecord{Body: str("a")}, &logspb.LogRecord{Body: str("a")}), false)
	f.Add(seed(&logspb.LogRecord{Body: str("a"), Attributes: []*commonpb.KeyValue{nan}}, &logspb.LogRecord{Body: late}, &logspb.LogRecord{}), false)
	f.Add([]byte(otlpJSON), true)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"@timestamp","value":{"stringValue":"`+tooEarly+`"}}]}}},{"body":{"stringValue":"x"},"attributes":[{"key":"d","value":{"doubleValue":"NaN"}}]}]}]}]}`), true)
	h := newHarness(f, nil)
	lim := testConfig().Limits
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		enc, ct := otlp.Protobuf, "application/x-protobuf"
		if asJSON {
			enc, ct = otlp.JSON, "application/json"
		}
		before := h.st.Size()
		w := fuzzDo(h, req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": ct}, body: body})
		check5xx(t, w, body)
		if w.Code != http.StatusOK {
			checkNoGrowth(t, h, before, w)
			return
		}
		var rejected int64
		if asJSON {
			var r struct {
				PartialSuccess struct {
					Rejected int64 `json:"rejectedLogRecords,string"`
				} `json:"partialSuccess"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			rejected = r.PartialSuccess.Rejected
		} else {
			rejected, _ = otlpPartial(t, w.Body.Bytes())
		}
		// The records the request holds, counted apart from the handler.
		total := int64(-1)
		if !asJSON {
			var ld logspb.LogsData
			if err := proto.Unmarshal(body, &ld); err != nil {
				t.Fatalf("200 for an undecodable body: %v", err)
			}
			total = 0
			for _, rl := range ld.ResourceLogs {
				for _, sl := range rl.ScopeLogs {
					total += int64(len(sl.LogRecords))
				}
			}
		} else {
			res, err := otlp.Parse(body, enc, ingest.Meta{Key: "fuzz", Received: t0}, lim)
			if err != nil {
				t.Fatalf("200 for a body the parser refuses: %v", err)
			}
			total = int64(len(res.Events)) + res.Rejected
		}
		if got := int64(h.st.Size() - before); got != total-rejected {
			t.Fatalf("%d records, %d rejected, store grew by %d", total, rejected, got)
		}
	})
}

// otlpPartial decodes a protobuf ExportLogsServiceResponse's
// partial_success (rejected_log_records, error_message).
func otlpPartial(t *testing.T, b []byte) (int64, string) {
	t.Helper()
	var rejected int64
	var msg string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			t.Fatalf("unexpected response field %d/%d", num, typ)
		}
		b = b[n:]
		ps, n := protowire.ConsumeBytes(b)
		if n < 0 {
			t.Fatal("truncated partial_success")
		}
		b = b[n:]
		for len(ps) > 0 {
			num, typ, n := protowire.ConsumeTag(ps)
			if n < 0 {
				t.Fatal("bad partial_success")
			}
			ps = ps[n:]
			switch {
			case num == 1 && typ == protowire.VarintType:
				v, n := protowire.ConsumeVarint(ps)
				rejected, ps = int64(v), ps[n:]
			case num == 2 && typ == protowire.BytesType:
				v, n := protowire.ConsumeBytes(ps)
				msg, ps = string(v), ps[n:]
			default:
				n := protowire.ConsumeFieldValue(num, typ, ps)
				if n < 0 {
					t.Fatal("bad partial_success field")
				}
				ps = ps[n:]
			}
		}
	}
	return rejected, msg
}
