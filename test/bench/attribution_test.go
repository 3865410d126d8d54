package main

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestQuantileBetweenScrapes: the quantile is taken over what a histogram
// observed between two scrapes, as the upper bound of its bucket.
func TestQuantileBetweenScrapes(t *testing.T) {
	scrapes := []string{
		`# HELP x
ledgerguard_store_commit_seconds_bucket{phase="total",le="0.01"} 100
ledgerguard_store_commit_seconds_bucket{phase="total",le="0.05"} 100
ledgerguard_store_commit_seconds_bucket{phase="total",le="+Inf"} 100
other_bucket{le="1"} 5
`,
		`ledgerguard_store_commit_seconds_bucket{phase="total",le="0.01"} 190
ledgerguard_store_commit_seconds_bucket{phase="total",le="0.05"} 199
ledgerguard_store_commit_seconds_bucket{phase="total",le="+Inf"} 200
go_sched_latencies_seconds_bucket{le="0.001"} 10
go_sched_latencies_seconds_bucket{le="+Inf"} 10
`,
	}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(scrapes[n]))
		n++
	}))
	defer srv.Close()
	ctx := context.Background()
	h0 := scrapeHistograms(ctx, srv.Client(), srv.URL, attributionPrefixes...)
	h1 := scrapeHistograms(ctx, srv.Client(), srv.URL, attributionPrefixes...)
	series := `ledgerguard_store_commit_seconds{phase="total"}`
	tests := []struct {
		name   string
		series string
		q      float64
		want   float64
		wantOK bool
	}{
		{"p50 in the first bucket", series, 0.5, 0.01, true},
		{"p95 in the second", series, 0.95, 0.05, true},
		{"p100 in +Inf", series, 1, math.Inf(1), true},
		{"absent before: all of after", `go_sched_latencies_seconds`, 0.99, 0.001, true},
		{"not kept", `other`, 0.5, 0, false},
	}
	for _, tt := range tests {
		got, _, ok := quantile(h0, h1, tt.series, tt.q)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("%s: got %v, %v, want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
