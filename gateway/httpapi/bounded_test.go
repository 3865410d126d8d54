package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/otlp"
)

// gzipRepeat gzips prefix, then unit n times, then suffix, without holding
// the decompressed body in memory.
func gzipRepeat(t testing.TB, prefix, unit []byte, n int, suffix []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat(unit, 1<<16)
	write := func(b []byte) {
		if _, err := zw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix)
	for left := n; left > 0; {
		k := min(left, 1<<16)
		write(chunk[:k*len(unit)])
		left -= k
	}
	write(suffix)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// amplificationProto is issue 10's finding 3: an ExportLogsServiceRequest
// whose one ScopeLogs holds n empty LogRecords, each the 2 bytes 0x12 0x00
// (field 2, length 0) on the wire, gzipped.
func amplificationProto(t testing.TB, n int) []byte {
	scope := 2 * n
	rl := 1 + protowire.SizeVarint(uint64(scope)) + scope
	var prefix []byte
	prefix = protowire.AppendTag(prefix, 1, protowire.BytesType) // LogsData.resource_logs
	prefix = protowire.AppendVarint(prefix, uint64(rl))
	prefix = protowire.AppendTag(prefix, 2, protowire.BytesType) // ResourceLogs.scope_logs
	prefix = protowire.AppendVarint(prefix, uint64(scope))
	return gzipRepeat(t, prefix, []byte{0x12, 0x00}, n, nil)
}

// amplificationJSON is the same request in the OTLP JSON encoding: n empty
// log records, 3 bytes each.
func amplificationJSON(t testing.TB, n int) []byte {
	return gzipRepeat(t, []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}`), []byte(`,{}`), n-1, []byte(`]}]}]}`))
}

// TestOTLPAmplificationBounded sends the 64 KB request that decodes to 33
// million log records (and its JSON form) and checks the gateway refuses
// it with 413 while allocating less than 100 MB for it: the records are
// counted on the wire, before anything is decoded.
func TestOTLPAmplificationBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and sends 64 MiB (decompressed) requests")
	}
	const maxGrowth = 100 << 20 // bytes allocated while serving the request
	h := newHarness(t, func(c *testCfg) { c.Limits = ingest.Limits{} })
	const max = ingest.DefaultMaxBodyBytes
	for _, tc := range []struct {
		name, contentType string
		body              []byte
	}{
		{"protobuf", "application/x-protobuf", amplificationProto(t, (max-16)/2)},
		{"json", "application/json", amplificationJSON(t, (max-64)/3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			w := h.do(req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP, body: tc.body,
				header: map[string]string{"Content-Type": tc.contentType, "Content-Encoding": "gzip"}})
			runtime.ReadMemStats(&after)
			if got, want := w.Code, 413; got != want {
				t.Errorf("status = %d, want %d: %.200s", got, want, w.Body.Bytes())
			}
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d bytes compressed, %d MiB allocated serving it, heap %d -> %d MiB",
				tc.name, len(tc.body), grew>>20, before.HeapAlloc>>20, after.HeapAlloc>>20)
			if grew > maxGrowth {
				t.Errorf("serving the request allocated %d MiB, want under %d MiB", grew>>20, maxGrowth>>20)
			}
		})
	}
}

// TestBusyWhenDecodesFull holds every decode slot and checks each ingest
// protocol answers its busy answer (503 with Retry-After) storing nothing,
// then accepts once the slot is free, giving it back when done.
func TestBusyWhenDecodesFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  req
	}{
		{"ndjson", req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(`{"event":"x"}`)}},
		{"es", req{path: "/_bulk", auth: "ApiKey " + tokES, body: []byte(bulkBody)}},
		{"otlp", req{path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/json"}, body: []byte(otlpJSON)}},
		{"hec", req{path: "/services/collector/event", auth: "Splunk " + tokHECNoAck, body: []byte(`{"event":"x"}`)}},
		{"hec raw", req{path: "/services/collector/raw?channel=" + channelID, auth: "Splunk " + tokHECNoAck, body: []byte("x\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *testCfg) {
				c.Limits.MaxConcurrentDecodes = 1
				c.Limits.DecodeWait = 10 * time.Millisecond
			})
			release, err := h.srv.dec.Acquire(context.Background(), h.srv.lim.MaxBodyBytes) // the whole budget
			if err != nil {
				t.Fatal(err)
			}
			tc.req.method = "POST"
			w := h.do(tc.req)
			if got, want := w.Code, 503; got != want {
				t.Fatalf("status with every slot taken = %d, want %d: %s", got, want, w.Body)
			}
			if got, want := w.Header().Get("Retry-After"), "5"; got != want {
				t.Errorf("Retry-After = %q, want %q", got, want)
			}
			if h.st.Size() != 0 {
				t.Errorf("stored %d events on a busy answer", h.st.Size())
			}
			release()
			if w := h.do(tc.req); w.Code != 200 {
				t.Fatalf("status with a free slot = %d, want 200: %s", w.Code, w.Body)
			}
			if got := h.srv.dec.InUse(); got != 0 {
				t.Errorf("%d decode slots still taken after the request", got)
			}
		})
	}
}

// TestJSONBodiesWithinDecodeBudget checks the JSON protocols refuse with
// 413 a body whose generic decode would pass the decode budget (`[{},…]`
// is 3 bytes per map), storing nothing, and accept the same shape within it.
func TestJSONBodiesWithinDecodeBudget(t *testing.T) {
	many := func(n int) string { return "[" + strings.Repeat("{},", n) + "{}]" }
	for _, tc := range []struct {
		name string
		req  func(body string) req
		wrap func(v string) string
	}{
		{"ndjson", func(b string) req { return req{path: "/v1/events", auth: "Bearer " + tokNDJSON, body: []byte(b)} }, func(v string) string { return `{"event":{"list":` + v + "}}\n" }},
		{"hec", func(b string) req {
			return req{path: "/services/collector/event", auth: "Splunk " + tokHECNoAck, body: []byte(b)}
		}, func(v string) string { return `{"event":` + v + "}" }},
		{"es", func(b string) req { return req{path: "/_bulk", auth: "ApiKey " + tokES, body: []byte(b)} }, func(v string) string { return "{\"index\":{}}\n{\"m\":" + v + "}\n" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *testCfg) { c.Limits.MaxDecodeBytes = 1 << 20 })
			r := tc.req(tc.wrap(many(10_000))) // about 1.6 MB decoded
			r.method = "POST"
			if w := h.do(r); w.Code != 413 {
				t.Fatalf("status = %d, want 413: %.300s", w.Code, w.Body)
			}
			if h.st.Size() != 0 {
				t.Errorf("stored %d events on a refused request", h.st.Size())
			}
			r = tc.req(tc.wrap(many(10)))
			r.method = "POST"
			if w := h.do(r); w.Code != 200 {
				t.Fatalf("status within budget = %d, want 200: %.300s", w.Code, w.Body)
			}
		})
	}
}

// TestOTLPWeighedByEstimate: an OTLP request takes its estimated decoded
// size from the decode budget (otlp.Prescan), not its body's bytes, so a
// budget with room for the body but not for what it decodes to answers
// busy, storing nothing.
func TestOTLPWeighedByEstimate(t *testing.T) {
	rec := `{"timeUnixNano":"1764064800000000000","body":{"stringValue":"x"},"attributes":[{"key":"a","value":{"intValue":"1"}},{"key":"b","value":{"intValue":"2"}}]}`
	body := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + strings.Repeat(rec+",", 999) + rec + `]}]}]}`
	lim := ingest.Limits{MaxConcurrentDecodes: 1, MaxDecodingBytes: 256 << 20}
	est, err := otlp.Prescan([]byte(body), otlp.JSON, lim)
	if err != nil {
		t.Fatal(err)
	}
	if est.Bytes() < 4*int64(len(body)) {
		t.Fatalf("estimate %d for a %d-byte body: the test needs one several times the body", est.Bytes(), len(body))
	}
	h := newHarness(t, func(c *testCfg) {
		c.Limits.MaxConcurrentDecodes = lim.MaxConcurrentDecodes
		c.Limits.MaxDecodingBytes = lim.MaxDecodingBytes
		c.Limits.MaxBodyBytes = 8 << 20
		c.Limits.DecodeWait = 10 * time.Millisecond
	})
	free := 2 * int64(len(body)) // room for the body, not for its estimate
	release, err := h.srv.dec.Acquire(context.Background(), h.srv.dec.Capacity()-free)
	if err != nil {
		t.Fatal(err)
	}
	r := req{method: "POST", path: "/v1/logs", auth: "Bearer " + tokOTLP, header: map[string]string{"Content-Type": "application/json"}, body: []byte(body)}
	if w := h.do(r); w.Code != 503 {
		t.Fatalf("status with %d bytes of budget free for an estimate of %d = %d, want 503: %.200s", free, est.Bytes(), w.Code, w.Body)
	}
	if h.st.Size() != 0 {
		t.Errorf("stored %d events on a busy answer", h.st.Size())
	}
	release()
	if w := h.do(r); w.Code != 200 {
		t.Fatalf("status with the budget free = %d, want 200: %.200s", w.Code, w.Body)
	}
}
