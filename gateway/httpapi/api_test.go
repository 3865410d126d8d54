package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/hec"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func otlpProto(t *testing.T, bodies ...string) []byte {
	t.Helper()
	var recs []*logspb.LogRecord
	for _, b := range bodies {
		recs = append(recs, &logspb.LogRecord{TimeUnixNano: 1764064800000000000, Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: b}}})
	}
	b, err := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const otlpJSON = `{"resourceLogs":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"web-1"}}]},"scopeLogs":[{"logRecords":[` +
	`{"timeUnixNano":"1764064800000000000","body":{"stringValue":"user alice logged in"}},` +
	`{"timeUnixNano":"1764064801000000000"}]}]}]}`

const bulkBody = `{"index":{"_index":"logs"}}
{"message":"first","@timestamp":"2026-11-25T10:00:00Z"}
{"create":{}}
{"message":"second"}
{"index":{"_index":"secret"}}
{"message":"not allowed"}
{"delete":{"_index":"logs","_id":"x"}}
`

// Every protocol's happy path stores its events and answers in its own
// shape.
func TestIngestHappyPaths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    req
		stored uint64
		golden string
	}{
		{"hec event", req{method: "POST", path: "/services/collector/event", auth: "Splunk " + tokHECNoAck,
			body: []byte(`{"event":"hello","time":1764064800.5}{"event":{"a":1},"index":"other"}`)}, 2, ""},
		{"hec alias with basic", req{method: "POST", path: "/services/collector", auth: basic("x", tokHECNoAck),
			body: []byte(`{"event":"via basic"}`)}, 1, ""},
		{"hec raw", req{method: "POST", path: "/services/collector/raw?channel=" + channelID + "&sourcetype=linux:auth", auth: "Splunk " + tokHECNoAck,
			body: []byte("Nov 25 10:00:00 host sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\nsecond line\n")}, 2, ""},
		{"es bulk", req{method: "POST", path: "/_bulk", auth: "ApiKey " + tokES, header: map[string]string{"Content-Type": "application/x-ndjson"},
			body: []byte(bulkBody)}, 2, "es_bulk_mixed"},
		{"es index bulk put basic", req{method: "PUT", path: "/logs/_bulk", auth: basic("elastic", tokES),
			body: []byte("{\"index\":{}}\n{\"m\":1}\n")}, 1, ""},
		{"otlp json", req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/json"},
			body: []byte(otlpJSON)}, 1, "otlp_partial_json"},
		{"otlp protobuf gzip", req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP,
			header: map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
			body:   gz(t, otlpProto(t, "one", "two", "three"))}, 3, ""},
		{"ndjson", req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, header: map[string]string{"Content-Type": "application/x-ndjson"},
			body: ndjsonLines(3, `{"time":"2026-11-25T10:00:00Z","event":"line %d"}`)}, 3, "ndjson_accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			w := h.do(tc.req)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body.Bytes())
			}
			if got := h.st.Size(); got != tc.stored {
				t.Errorf("stored %d events, want %d", got, tc.stored)
			}
			if tc.golden != "" {
				golden(t, tc.golden, w.Body.Bytes())
			}
		})
	}
}

func TestHECIndexDefaultsAndSuccessBody(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "POST", path: "/services/collector/event", auth: "Splunk " + tokHEC,
		header: map[string]string{"X-Splunk-Request-Channel": channelID}, body: []byte(`{"event":"x"}`)})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	ev, err := h.st.EventBySeq(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Index != "main" || ev.Source != "splunk" || ev.Sourcetype != "_json" {
		t.Errorf("event index %q source %q sourcetype %q, want main splunk _json", ev.Index, ev.Source, ev.Sourcetype)
	}
}

// An ack is false until the request's events are anchored, then true once,
// then forgotten, as Splunk does.
func TestHECAckTurnsTrueAfterAnchoring(t *testing.T) {
	h := newHarness(t, nil)
	// Each request names itself (channel + Idempotency-Key, the HEC retry
	// rule) so the replay below is a retry, not a new occurrence.
	send := func(body string) uint64 {
		w := h.do(req{method: "POST", path: "/services/collector/event", auth: "Splunk " + tokHEC,
			header: map[string]string{"X-Splunk-Request-Channel": channelID, HeaderIdempotencyKey: "req-" + body}, body: []byte(body)})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		r := decode[hec.Response](t, w)
		if r.AckID == nil {
			t.Fatalf("no ackId in %s", w.Body)
		}
		return *r.AckID
	}
	ack := func(ids string) map[string]bool {
		w := h.do(req{method: "POST", path: "/services/collector/ack?channel=" + channelID, auth: "Splunk " + tokHEC, body: []byte(`{"acks":[` + ids + `]}`)})
		if w.Code != http.StatusOK {
			t.Fatalf("ack status %d: %s", w.Code, w.Body)
		}
		return decode[hec.AckResponse](t, w).Acks
	}
	if id := send(`{"event":"a"}{"event":"b"}`); id != 0 {
		t.Fatalf("first ackId = %d, want 0", id)
	}
	if got := ack("0"); got["0"] {
		t.Fatalf("ack 0 true before anchoring: %v", got)
	}
	h.sealAndAnchor()
	if id := send(`{"event":"c"}`); id != 1 {
		t.Fatalf("second ackId = %d, want 1", id)
	}
	got := ack("0,1,7")
	want := map[string]bool{"0": true, "1": false, "7": false}
	if !mapsEqual(got, want) {
		t.Errorf("acks = %v, want %v", got, want)
	}
	if got := ack("0"); got["0"] {
		t.Errorf("ack 0 reported true twice")
	}
	// A retry of already-anchored events gets an ack that is true at once.
	if id := send(`{"event":"a"}{"event":"b"}`); id != 2 {
		t.Fatalf("third ackId = %d, want 2", id)
	}
	if got := ack("2"); !got["2"] {
		t.Errorf("ack of a replayed, anchored event = %v, want true", got)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// HEC authentication and request errors answer with Splunk's codes.
func TestHECCodes(t *testing.T) {
	ev := []byte(`{"event":"x"}`)
	for _, tc := range []struct {
		name   string
		req    req
		status int
		code   hec.Code
	}{
		{"no token", req{body: ev}, 401, hec.CodeTokenRequired},
		{"bad scheme", req{auth: "Bearer " + tokHEC, body: ev}, 401, hec.CodeInvalidAuthorization},
		{"unknown token", req{auth: "Splunk nope", body: ev}, 403, hec.CodeInvalidToken},
		{"other scope", req{auth: "Splunk " + tokOTLP, body: ev}, 403, hec.CodeInvalidToken},
		{"disabled", req{auth: "Splunk " + tokDisabled, body: ev}, 403, hec.CodeTokenDisabled},
		{"query token", req{path: "/services/collector/event?token=" + tokHEC, body: ev}, 400, hec.CodeQueryStringAuthDenied},
		{"channel missing", req{auth: "Splunk " + tokHEC, body: ev}, 400, hec.CodeChannelMissing},
		{"channel invalid", req{auth: "Splunk " + tokHEC, header: map[string]string{"X-Splunk-Request-Channel": "nope"}, body: ev}, 400, hec.CodeInvalidChannel},
		{"no data", req{auth: "Splunk " + tokHECNoAck, body: []byte("  ")}, 400, hec.CodeNoData},
		{"malformed", req{auth: "Splunk " + tokHECNoAck, body: []byte(`{"event":"ok"}{"event":`)}, 400, hec.CodeInvalidDataFormat},
		{"event missing", req{auth: "Splunk " + tokHECNoAck, body: []byte(`{"time":1}`)}, 400, hec.CodeEventFieldRequired},
		{"wrong index", req{auth: "Splunk " + tokHEC, header: map[string]string{"X-Splunk-Request-Channel": channelID}, body: []byte(`{"event":"a"}{"event":"b","index":"hr"}`)}, 400, hec.CodeIncorrectIndex},
		{"ack disabled", req{path: "/services/collector/ack?channel=" + channelID, auth: "Splunk " + tokHECNoAck, body: []byte(`{"acks":[0]}`)}, 400, hec.CodeACKDisabled},
		{"too large", req{auth: "Splunk " + tokHECNoAck, body: bytes.Repeat([]byte(`{"event":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`), 3000)}, 413, hec.CodeInvalidDataFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tc.req.method = "POST"
			if tc.req.path == "" {
				tc.req.path = "/services/collector/event"
			}
			w := h.do(tc.req)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := decode[hec.Response](t, w).Code; got != tc.code {
				t.Errorf("code %d, want %d: %s", got, tc.code, w.Body)
			}
			if h.st.Size() != 0 {
				t.Errorf("stored %d events on a refused request", h.st.Size())
			}
		})
	}
}

// Generic refusals (401, 400, 413, 415, 503) of every protocol, with
// nothing stored, and the gateway's own error bodies pinned by golden files.
func TestRefusals(t *testing.T) {
	bigNDJSON := ndjsonLines(2000, `{"event":"padding padding padding padding %d"}`)
	for _, tc := range []struct {
		name   string
		busy   bool
		req    req
		status int
		golden string
	}{
		{"ndjson 401", false, req{path: "/v1/events", body: []byte(`{"event":"x"}`)}, 401, "error_401"},
		{"ndjson 401 wrong token", false, req{path: "/v1/events", auth: "Bearer wrong", body: []byte(`{"event":"x"}`)}, 401, ""},
		{"ndjson 403 scope", false, req{path: "/v1/events", auth: "Bearer " + tokOTLP, body: []byte(`{"event":"x"}`)}, 403, "error_403_scope"},
		{"ndjson 403 index", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte("{\"event\":\"x\"}\n{\"event\":\"y\",\"index\":\"hr\"}\n")}, 403, "error_403_index"},
		{"ndjson 400", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte("{\"event\":\"ok\"}\n{\"event\":\"ok\"}\n{\"event\": nope}\n")}, 400, "error_400_ndjson"},
		{"ndjson 413", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: bigNDJSON}, 413, "error_413"},
		{"ndjson 413 gzip", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, header: map[string]string{"Content-Encoding": "gzip"}, body: gz(t, bigNDJSON)}, 413, ""},
		{"ndjson 415", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, header: map[string]string{"Content-Type": "text/csv"}, body: []byte("a,b\n")}, 415, "error_415"},
		{"ndjson 415 encoding", false, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, header: map[string]string{"Content-Encoding": "br"}, body: []byte("x")}, 415, ""},
		{"ndjson 503", true, req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(`{"event":"x"}`)}, 503, "error_503"},
		{"es 401", false, req{path: "/_bulk", body: []byte(bulkBody)}, 401, "es_error_401"},
		{"es 401 basic user", false, req{path: "/_bulk", auth: basic("root", tokES), body: []byte(bulkBody)}, 401, ""},
		{"es 400", false, req{path: "/_bulk", auth: "ApiKey " + tokES, body: []byte("{\"index\":{}}\n")}, 400, "es_error_400"},
		{"es 415", false, req{path: "/_bulk", auth: "ApiKey " + tokES, header: map[string]string{"Content-Type": "text/plain"}, body: []byte(bulkBody)}, 415, ""},
		{"es 413", false, req{path: "/_bulk", auth: "ApiKey " + tokES, body: bytes.Repeat([]byte("{\"index\":{}}\n{\"m\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n"), 2000)}, 413, ""},
		{"es 503", true, req{path: "/_bulk", auth: "ApiKey " + tokES, body: []byte(bulkBody)}, 503, "es_error_503"},
		{"otlp 401", false, req{path: "/v1/logs", header: map[string]string{"Content-Type": "application/json"}, body: []byte(otlpJSON)}, 401, "otlp_error_401_json"},
		{"otlp 400", false, req{path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/json"}, body: []byte(`{"resourceLogs":7}`)}, 400, ""},
		{"otlp 400 protobuf", false, req{path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/x-protobuf"}, body: []byte{0xff, 0xff}}, 400, ""},
		{"otlp 415", false, req{path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "text/plain"}, body: []byte("x")}, 415, ""},
		{"otlp 503", true, req{path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/json"}, body: []byte(otlpJSON)}, 503, "otlp_error_503_json"},
		{"hec 503", true, req{path: "/services/collector/event", auth: "Splunk " + tokHECNoAck, body: []byte(`{"event":"x"}`)}, 503, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			if tc.busy {
				h.pending = 1000
			}
			tc.req.method = "POST"
			w := h.do(tc.req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if h.st.Size() != 0 {
				t.Errorf("stored %d events on a refused request", h.st.Size())
			}
			if tc.status == 503 && w.Header().Get("Retry-After") != "5" {
				t.Errorf("Retry-After = %q, want 5", w.Header().Get("Retry-After"))
			}
			if strings.HasPrefix(tc.req.path, "/_bulk") && w.Header().Get("X-Elastic-Product") != "Elasticsearch" {
				t.Errorf("X-Elastic-Product missing on an Elasticsearch answer")
			}
			if tc.golden != "" {
				golden(t, tc.golden, w.Body.Bytes())
			}
		})
	}
}

func TestBusyWhenTooManyUnanchoredEvents(t *testing.T) {
	h := newHarness(t, func(c *testCfg) { c.Backpressure.MaxUnanchoredEvents = 2 })
	round := 0
	post := func() int {
		round++
		return h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: ndjsonLines(2, `{"event":"round `+strconv.Itoa(round)+` e%d"}`)}).Code
	}
	if got := post(); got != 200 {
		t.Fatalf("first post %d", got)
	}
	if got := post(); got != 200 {
		t.Fatalf("second post %d (2 unanchored is not over the limit of 2)", got)
	}
	if got := post(); got != 503 {
		t.Fatalf("third post %d, want 503 with 4 unanchored", got)
	}
	h.sealAndAnchor()
	if got := post(); got != 200 {
		t.Fatalf("post after anchoring %d, want 200", got)
	}
}

func TestESInfo(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "GET", path: "/", auth: "ApiKey " + tokES})
	if w.Code != 200 || w.Header().Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET / = %d, product %q", w.Code, w.Header().Get("X-Elastic-Product"))
	}
	w = h.do(req{method: "HEAD", path: "/", auth: "ApiKey " + tokES})
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d bytes", w.Code, w.Body.Len())
	}
}

// The read API serves proofs, batches, checkpoints and consistency proofs
// before and after anchoring.
func TestReadAPI(t *testing.T) {
	h := newHarness(t, nil)
	read := func(path string) (int, []byte) {
		w := h.do(req{method: "GET", path: path, auth: "Bearer " + tokRead})
		return w.Code, w.Body.Bytes()
	}
	w := h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON,
		body: ndjsonLines(3, `{"time":"2026-11-25T09:00:00Z","event":{"user.name":"u%d","event.action":"login"}}`)})
	if w.Code != 200 {
		t.Fatalf("ingest %d: %s", w.Code, w.Body)
	}
	acc := decode[AcceptedResponse](t, w)
	id := acc.Events[1].ID

	code, body := read("/v1/events/" + id)
	if code != 200 {
		t.Fatalf("event before anchoring: %d %s", code, body)
	}
	golden(t, "event_unsealed", body)
	code, body = read("/v1/checkpoint")
	if code != 200 {
		t.Fatalf("checkpoint: %d %s", code, body)
	}
	golden(t, "checkpoint_unanchored", body)

	h.sealAndAnchor()
	code, body = read("/v1/events/" + id)
	if code != 200 {
		t.Fatalf("event after anchoring: %d %s", code, body)
	}
	golden(t, "event_anchored", body)
	ep := decodeBytes[EventResponse](t, body)
	if !ep.Anchored || ep.TxID == "" || ep.BlockNumber != 1 || ep.LeafIndex != 1 {
		t.Errorf("anchored event: anchored %v tx %q block %d leaf %d", ep.Anchored, ep.TxID, ep.BlockNumber, ep.LeafIndex)
	}
	code, body = read("/v1/batches/" + ep.Batch.ID)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, body)
	}
	golden(t, "batch", body)
	code, body = read("/v1/checkpoint")
	if code != 200 {
		t.Fatalf("checkpoint: %d %s", code, body)
	}
	golden(t, "checkpoint_anchored", body)
	code, body = read("/v1/consistency?from=1&to=3")
	if code != 200 {
		t.Fatalf("consistency: %d %s", code, body)
	}
	golden(t, "consistency", body)

	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/events/" + strings.Repeat("0", 64), 404},
		{"/v1/events/not-an-id", 404},
		{"/v1/events/" + id + "?tree_size=x", 400},
		{"/v1/events/" + id + "?tree_size=99", 400},
		{"/v1/batches/" + strings.Repeat("a", 64), 404},
		{"/v1/consistency", 400},
		{"/v1/consistency?from=2&to=1", 400},
		{"/v1/consistency?from=1&to=99", 400},
		{"/v1/consistency?from=1", 200},
	} {
		if code, body := read(tc.path); code != tc.status {
			t.Errorf("GET %s = %d, want %d: %s", tc.path, code, tc.status, body)
		}
	}
	// An ingest token cannot read; no token is 401.
	if w := h.do(req{method: "GET", path: "/v1/checkpoint", auth: "Bearer " + tokNDJSON}); w.Code != 403 {
		t.Errorf("read with an ndjson token = %d, want 403", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/v1/checkpoint"}); w.Code != 401 {
		t.Errorf("read without a token = %d, want 401", w.Code)
	}
	code, body = read("/v1/events/" + strings.Repeat("0", 64))
	golden(t, "error_404", body)
}

func decodeBytes[T any](t *testing.T, b []byte) T {
	t.Helper()
	w := httptest.NewRecorder()
	w.Body = bytes.NewBuffer(b)
	return decode[T](t, w)
}

func TestLastAnchoredAtStartup(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ingest := func(n int) {
		w := h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: ndjsonLines(n, `{"event":"at `+strconv.FormatUint(h.st.Size(), 10)+` %d"}`)})
		if w.Code != 200 {
			t.Fatalf("ingest %d: %s", w.Code, w.Body)
		}
	}
	pending, _ := h.st.PendingBatches(ctx)
	if _, ok, err := anchor.LastAnchored(ctx, h.st.Size(), pending, h.st); err != nil || ok {
		t.Fatalf("empty log: LastAnchored ok=%v err=%v, want false nil", ok, err)
	}
	ingest(3)
	h.sealAndAnchor()
	ingest(2)
	h.sealAndAnchor()
	ingest(4) // open batch, not sealed
	pending, err := h.st.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := anchor.LastAnchored(ctx, h.st.Size(), pending, h.st)
	if err != nil || !ok || b.TreeSizeAfter != 5 || b.TxID == "" {
		t.Errorf("LastAnchored = size %d tx %q ok %v err %v, want 5, a tx, true", b.TreeSizeAfter, b.TxID, ok, err)
	}
	// With a sealed batch pending (the anchorer is fed a pending list that
	// says so), the answer is the batch before it.
	b, ok, err = anchor.LastAnchored(ctx, h.st.Size(), []gateway.Batch{{TreeSizeBefore: 3, TreeSizeAfter: 5}}, h.st)
	if err != nil || !ok || b.TreeSizeAfter != 3 {
		t.Errorf("LastAnchored with pending = size %d ok %v err %v, want 3", b.TreeSizeAfter, ok, err)
	}
}

func TestOpsEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "GET", path: "/healthz"})
	if w.Code != 200 {
		t.Errorf("healthz %d", w.Code)
	}
	golden(t, "healthz", w.Body.Bytes())
	w = h.do(req{method: "GET", path: "/readyz"})
	if w.Code != 200 {
		t.Errorf("readyz %d: %s", w.Code, w.Body)
	}
	golden(t, "readyz_ready", w.Body.Bytes())
	h.pending = 1000
	w = h.do(req{method: "GET", path: "/readyz"})
	if w.Code != 503 {
		t.Errorf("readyz while busy %d", w.Code)
	}
	golden(t, "readyz_busy", w.Body.Bytes())
	w = h.do(req{method: "GET", path: "/services/collector/health"})
	if w.Code != 503 {
		t.Errorf("HEC health while busy %d", w.Code)
	}
	golden(t, "hec_health_busy", w.Body.Bytes())
	h.pending = 0
	w = h.do(req{method: "GET", path: "/services/collector/health"})
	golden(t, "hec_health_ok", w.Body.Bytes())
	w = h.do(req{method: "GET", path: "/nowhere"})
	if w.Code != 404 {
		t.Errorf("unknown route %d", w.Code)
	}
	w = h.do(req{method: "GET", path: "/openapi.yaml"})
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), OpenAPI) {
		t.Errorf("openapi.yaml %d", w.Code)
	}

	h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(`{"event":"m"}`)})
	h.do(req{method: "POST", path: "/v1/events", body: []byte(`{"event":"m"}`)})
	h.sealAndAnchor()
	w = h.do(req{method: "GET", path: "/metrics"})
	for _, want := range []string{
		`ledgerguard_ingest_events_accepted_total{protocol="ndjson"} 1`,
		`ledgerguard_ingest_requests_rejected_total{protocol="ndjson",reason="unauthenticated"} 1`,
		`ledgerguard_store_events 1`,
		`ledgerguard_anchored_events 1`,
		`ledgerguard_anchored_batches_total 1`,
		`ledgerguard_anchor_lag_events 0`,
		`ledgerguard_anchor_lag_seconds 0`,
		`ledgerguard_anchor_batch_size_events_count 1`,
		`ledgerguard_http_request_duration_seconds_count{code="200",method="POST",route="/v1/events"} 1`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Every registered route is in openapi.yaml and every documented operation
// is registered.
func TestOpenAPICoversRoutes(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if slices.Contains(methods, m) {
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	h := newHarness(t, nil)
	var registered []string
	for _, r := range h.srv.Engine().Routes() {
		p := r.Path
		parts := strings.Split(p, "/")
		for i, s := range parts {
			if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
				parts[i] = "{" + s[1:] + "}"
			}
		}
		registered = append(registered, r.Method+" "+strings.Join(parts, "/"))
	}
	sort.Strings(documented)
	sort.Strings(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not documented in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml documents %s, which is not registered", d)
		}
	}
}

func TestAuthorizationParsing(t *testing.T) {
	u := "user"
	for _, tc := range []struct {
		header  string
		present bool
		want    authHeader
	}{
		{"", false, authHeader{}},
		{"Splunk abc", true, authHeader{scheme: "splunk", token: "abc"}},
		{"bearer  abc ", true, authHeader{scheme: "bearer", token: "abc"}},
		{"Splunk", true, authHeader{}},
		{"Basic " + b64("user:pa:ss"), true, authHeader{scheme: "basic", token: "pa:ss", username: &u}},
		{"Basic !!", true, authHeader{}},
		{"Basic " + b64("nocolon"), true, authHeader{}},
	} {
		got, present := parseAuthorization(tc.header)
		if present != tc.present || got.scheme != tc.want.scheme || got.token != tc.want.token || (got.username == nil) != (tc.want.username == nil) {
			t.Errorf("parseAuthorization(%q) = %+v %v, want %+v %v", tc.header, got, present, tc.want, tc.present)
		}
	}
}
