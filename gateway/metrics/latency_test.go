package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestObserveCommit: a group commit lands in store_commit_seconds, one
// queued observation per request and one of each group phase, and
// store_commit_events; the scheduler's latency is exported beside them.
func TestObserveCommit(t *testing.T) {
	m := New()
	m.ObserveCommit([]time.Duration{time.Millisecond, 3 * time.Millisecond}, 200, time.Millisecond, 2*time.Millisecond, 3*time.Millisecond, 7*time.Millisecond)
	m.IngestPhase.WithLabelValues("ndjson", "parse").Observe(0.002)
	exposes(t, m, []struct{ name, want string }{
		{"queued per request", `ledgerguard_store_commit_seconds_count{phase="queued"} 2`},
		{"segment per group", `ledgerguard_store_commit_seconds_count{phase="segment"} 1`},
		{"total per group", `ledgerguard_store_commit_seconds_sum{phase="total"} 0.007`},
		{"events", `ledgerguard_store_commit_events_sum 200`},
		{"handler phase", `ledgerguard_ingest_phase_seconds_count{phase="parse",protocol="ndjson"} 1`},
		{"scheduler latency", `go_sched_latencies_seconds_bucket`},
	})
}

// exposes checks that m's /metrics holds each series line wanted.
func exposes(t *testing.T, m *Metrics, wants []struct{ name, want string }) {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, tt := range wants {
		if !strings.Contains(body, tt.want) {
			t.Errorf("%s: /metrics lacks %q", tt.name, tt.want)
		}
	}
}

// TestObserveLeavesRead: each range read counts its leaves by source in
// store_leaves_read_total and its distance from the log's end in
// store_leaves_read_behind_events.
func TestObserveLeavesRead(t *testing.T) {
	m := New()
	m.ObserveLeavesRead(4096, 3000, true)
	m.ObserveLeavesRead(4096, 70_000, false)
	m.ObserveLeavesRead(100, 100, true)
	exposes(t, m, []struct{ name, want string }{
		{"from memory", `ledgerguard_store_leaves_read_total{source="memory"} 4196`},
		{"from the files", `ledgerguard_store_leaves_read_total{source="files"} 4096`},
		{"reads", `ledgerguard_store_leaves_read_behind_events_count 3`},
		{"behind up to 4,096", `ledgerguard_store_leaves_read_behind_events_bucket{le="4096"} 2`},
		{"behind up to 65,536", `ledgerguard_store_leaves_read_behind_events_bucket{le="65536"} 2`},
	})
}
