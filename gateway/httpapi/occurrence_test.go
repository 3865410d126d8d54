package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/ingest/esbulk"
)

// Issue 10, finding 5: identical events are distinct events, while a retry
// of the same request stores nothing twice.

const sshdLine = "Nov 25 10:00:00 bastion sshd[4242]: Failed password for root from 203.0.113.9 port 50022 ssh2"

func TestIdenticalHECRawLinesAreDistinct(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(strings.Repeat(sshdLine+"\n", 5))
	w := h.do(req{method: "POST", path: "/services/collector/raw?channel=" + channelID + "&sourcetype=linux:auth", auth: "Splunk " + tokHECNoAck, body: body})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got, want := h.st.Size(), uint64(5); got != want {
		t.Errorf("stored %d events, want %d", got, want)
	}
	// The same lines in another request (no request id) are five more.
	h.do(req{method: "POST", path: "/services/collector/raw?channel=" + channelID, auth: "Splunk " + tokHECNoAck, body: body})
	if got, want := h.st.Size(), uint64(10); got != want {
		t.Errorf("after a second request: stored %d events, want %d", got, want)
	}
}

func TestHECRetryWithChannelAndRequestIDStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	r := req{method: "POST", path: "/services/collector/event", auth: "Splunk " + tokHEC,
		header: map[string]string{"X-Splunk-Request-Channel": channelID, HeaderIdempotencyKey: "batch-17"},
		body:   []byte(`{"event":"` + sshdLine + `"}{"event":"` + sshdLine + `"}`)}
	for range 3 {
		if w := h.do(r); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if got, want := h.st.Size(), uint64(2); got != want {
		t.Errorf("stored %d events after 3 sends of one request, want %d", got, want)
	}
	// Another channel with the same request id is another sender.
	r.header = map[string]string{"X-Splunk-Request-Channel": "aaaaaaaa-2222-3333-4444-555555555555", HeaderIdempotencyKey: "batch-17"}
	h.do(r)
	if got, want := h.st.Size(), uint64(4); got != want {
		t.Errorf("stored %d events after another channel, want %d", got, want)
	}
}

func TestIdenticalNDJSONLinesGetDistinctSeqs(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON,
		body: []byte(strings.Repeat(`{"event":"`+sshdLine+`"}`+"\n", 3))})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	acc := decode[AcceptedResponse](t, w)
	seqs, ids := map[uint64]bool{}, map[string]bool{}
	for _, e := range acc.Events {
		seqs[e.Seq], ids[e.ID] = true, true
	}
	if acc.Accepted != 3 || len(seqs) != 3 || len(ids) != 3 {
		t.Errorf("accepted %d with %d distinct seqs and %d distinct ids, want 3, 3, 3: %s", acc.Accepted, len(seqs), len(ids), w.Body)
	}
	if got := h.st.Size(); got != 3 {
		t.Errorf("stored %d, want 3", got)
	}
}

func TestNDJSONRetryWithIdempotencyKeyStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(strings.Repeat(`{"event":"`+sshdLine+`"}`+"\n", 3))
	send := func(key string) AcceptedResponse {
		w := h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON,
			header: map[string]string{HeaderIdempotencyKey: key}, body: body})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return decode[AcceptedResponse](t, w)
	}
	first, retry := send("k-1"), send("k-1")
	if got, want := h.st.Size(), uint64(3); got != want {
		t.Errorf("stored %d after a retry, want %d", got, want)
	}
	for i := range first.Events {
		if first.Events[i] != retry.Events[i] {
			t.Errorf("event %d: retry answered %+v, first %+v", i, retry.Events[i], first.Events[i])
		}
	}
	send("k-2")
	if got, want := h.st.Size(), uint64(6); got != want {
		t.Errorf("stored %d after another key, want %d", got, want)
	}
	// Without a key every request is new: a retry stores twice (documented).
	h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: body})
	h.do(req{method: "POST", path: "/v1/events", auth: "Bearer " + tokNDJSON, body: body})
	if got, want := h.st.Size(), uint64(12); got != want {
		t.Errorf("stored %d after two keyless sends, want %d", got, want)
	}
}

func TestOTLPRetryWithIdempotencyKeyStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	body := otlpProto(t, sshdLine, sshdLine)
	r := req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP,
		header: map[string]string{"Content-Type": "application/x-protobuf", HeaderIdempotencyKey: "export-1"}, body: body}
	for range 2 {
		if w := h.do(r); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if got, want := h.st.Size(), uint64(2); got != want {
		t.Errorf("stored %d, want %d (two identical records, one retry)", got, want)
	}
}

func TestESBulkRetryWithIDStoredOnce(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"index":{"_index":"logs","_id":"doc-1"}}` + "\n" + `{"message":"` + sshdLine + `"}` + "\n" +
		`{"index":{"_index":"logs","_id":"doc-2"}}` + "\n" + `{"message":"` + sshdLine + `"}` + "\n" +
		`{"index":{"_index":"logs"}}` + "\n" + `{"message":"` + sshdLine + `"}` + "\n")
	send := func() esbulk.BulkResponse {
		w := h.do(req{method: "POST", path: "/_bulk", auth: "ApiKey " + tokES, header: map[string]string{"Content-Type": "application/x-ndjson"}, body: body})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return decode[esbulk.BulkResponse](t, w)
	}
	first := send()
	if got, want := h.st.Size(), uint64(3); got != want {
		t.Fatalf("stored %d, want %d (identical documents, distinct _id or none)", got, want)
	}
	retry := send()
	// The two items with _id are stored once; the one without an _id (and
	// without an Idempotency-Key) is a new occurrence.
	if got, want := h.st.Size(), uint64(4); got != want {
		t.Errorf("stored %d after a retry, want %d", got, want)
	}
	for i := range 2 {
		a, b := first.Items[i]["index"], retry.Items[i]["index"]
		if a.ID != b.ID || a.SeqNo == nil || b.SeqNo == nil || *a.SeqNo != *b.SeqNo {
			t.Errorf("item %d: retry answered %+v, first %+v", i, b, a)
		}
	}
	// A stored _id is one occurrence per index: the event id is not the _id.
	ev, err := h.st.EventBySeq(context.Background(), *first.Items[0]["index"].SeqNo)
	if err != nil || ev.ID == "doc-1" {
		t.Errorf("event of doc-1: %+v, %v", ev, err)
	}
}
