package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkNDJSONIngest measures the gateway's in-process ingest path for
// 1000-event NDJSON requests from concurrent clients: authentication, body
// reading, parsing and normalisation, canonical encoding, the store's group
// commit with fsync and Merkle hashing. Run with -cpuprofile to see where
// the time goes (no network, no ledger: the anchorer's ledger is a fake).
// "zeek6" is a 6-field record; "flow41" a 41-field flow row shaped like
// the NSL-KDD rows make bench replays. events/cpu-s is events per second
// of the process's CPU time (user and system, every goroutine and the
// garbage collector included), the figure to compare between builds on
// a shared machine.
func BenchmarkNDJSONIngest(b *testing.B) {
	var flow strings.Builder
	flow.WriteString(`{"event":{"bench.r":"%d-%%d","event.category":"network","kdd.flag":"SF","kdd.protocol_type":"tcp","kdd.service":"http"`)
	for i := range 37 {
		fmt.Fprintf(&flow, `,"kdd.feature_%02d":%d.%02d`, i, i*37, i)
	}
	flow.WriteString(`},"host":"sensor-01","sourcetype":"nsl-kdd"}`)
	for _, bc := range []struct{ name, format string }{
		{"zeek6", `{"sourcetype":"zeek:conn","event":{"event.category":"network","source.ip":"10.1.2.3","destination.port":443,"req":%d,"i":%%d}}`},
		{"flow41", flow.String()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, func(c *testCfg) {
				c.Limits.MaxBodyBytes = 4 << 20
				c.Limits.MaxEvents = 10_000
				c.Backpressure.MaxUnanchoredEvents = 1 << 40
				c.Backpressure.MaxPendingBatches = 1 << 20
			})
			const perReq = 1000
			var seq atomic.Int64
			b.SetParallelism(8)
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					body := ndjsonLines(perReq, fmt.Sprintf(bc.format, n))
					r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
					r.Header.Set("Authorization", "Bearer "+tokNDJSON)
					w := httptest.NewRecorder()
					h.srv.Handler().ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body.String())
					}
				}
			})
			events := float64(b.N * perReq)
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
			}
		})
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
