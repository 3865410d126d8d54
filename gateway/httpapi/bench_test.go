package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkNDJSONIngest measures the gateway's in-process ingest path for
// 1000-event NDJSON requests from concurrent clients: authentication, body
// reading, parsing and normalisation, canonical encoding, the store's group
// commit with fsync and Merkle hashing. Run with -cpuprofile to see where
// the time goes (no network, no ledger: the anchorer's ledger is a fake).
func BenchmarkNDJSONIngest(b *testing.B) {
	h := newHarness(b, func(c *testCfg) {
		c.Limits.MaxBodyBytes = 4 << 20
		c.Limits.MaxEvents = 10_000
		c.Backpressure.MaxUnanchoredEvents = 1 << 40
		c.Backpressure.MaxPendingBatches = 1 << 20
	})
	const perReq = 1000
	var seq atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := ndjsonLines(perReq, fmt.Sprintf(`{"sourcetype":"zeek:conn","event":{"event.category":"network","source.ip":"10.1.2.3","destination.port":443,"req":%d,"i":%%d}}`, n))
			r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+tokNDJSON)
			w := httptest.NewRecorder()
			h.srv.Handler().ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
		}
	})
	b.ReportMetric(float64(b.N*perReq)/b.Elapsed().Seconds(), "events/s")
}
