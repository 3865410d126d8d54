package httpapi

import (
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

const (
	tokMetrics         = "test-metrics-token"
	tokMetricsDisabled = "test-metrics-disabled-token"
)

// withMetricsCredentials adds a scraper credential (and a disabled one)
// and sets whether /metrics requires one.
func withMetricsCredentials(required bool) func(*testCfg) {
	return func(c *testCfg) {
		c.RequireMetricsCredential = required
		c.Credentials = append(c.Credentials,
			gateway.Credential{Name: "prometheus", Token: tokMetrics, Scopes: []gateway.Scope{gateway.ScopeMetrics}},
			gateway.Credential{Name: "old-prometheus", Token: tokMetricsDisabled, Scopes: []gateway.Scope{gateway.ScopeMetrics}, Disabled: true})
	}
}

// /metrics: open when not required; when required, 401 without a known
// bearer token, 403 for a credential lacking the metrics scope (or
// disabled), 200 with the scope.
func TestMetricsAuth(t *testing.T) {
	tests := []struct {
		name     string
		required bool
		auth     string
		want     int
	}{
		{"open: no header", false, "", 200},
		{"open: unknown token", false, "Bearer nope", 200},
		{"open: read token", false, "Bearer " + tokRead, 200},
		{"required: no header", true, "", 401},
		{"required: unknown token", true, "Bearer nope", 401},
		{"required: other scheme", true, "Splunk " + tokMetrics, 401},
		{"required: lacks scope", true, "Bearer " + tokRead, 403},
		{"required: disabled", true, "Bearer " + tokMetricsDisabled, 403},
		{"required: metrics scope", true, "Bearer " + tokMetrics, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withMetricsCredentials(tt.required))
			w := h.do(req{method: "GET", path: "/metrics", auth: tt.auth})
			if got := w.Code; got != tt.want {
				t.Fatalf("GET /metrics = %d, want %d: %s", got, tt.want, w.Body)
			}
			isMetrics := strings.Contains(w.Body.String(), "ledgerguard_store_events")
			if got, want := isMetrics, tt.want == 200; got != want {
				t.Errorf("body holds the metrics = %t, want %t", got, want)
			}
			if tt.want == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// A refused scrape is counted like any refused request.
func TestMetricsAuthRefusalCounted(t *testing.T) {
	h := newHarness(t, withMetricsCredentials(true))
	h.do(req{method: "GET", path: "/metrics"})
	h.do(req{method: "GET", path: "/metrics", auth: "Bearer " + tokRead})
	w := h.do(req{method: "GET", path: "/metrics", auth: "Bearer " + tokMetrics})
	for _, want := range []string{
		`ledgerguard_ingest_requests_rejected_total{protocol="metrics",reason="unauthenticated"} 1`,
		`ledgerguard_ingest_requests_rejected_total{protocol="metrics",reason="forbidden"} 1`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
