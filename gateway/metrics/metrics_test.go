package metrics

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestModelsServed: the gauge lists exactly the models served at scrape
// time, so an unloaded model disappears.
func TestModelsServed(t *testing.T) {
	m := New()
	var mu sync.Mutex
	served := []ServedModel{{"nsl-kdd-flow", "1.0.0", "aa"}, {"dns-dga", "1.0.0", "bb"}}
	if err := m.ModelsServed(func() []ServedModel { mu.Lock(); defer mu.Unlock(); return served }); err != nil {
		t.Fatal(err)
	}
	if err := m.ModelsServed(func() []ServedModel { return nil }); err == nil {
		t.Error("registering the gauge twice succeeded")
	}
	scrape := func() string {
		w := httptest.NewRecorder()
		m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	tests := []struct {
		name    string
		served  []ServedModel
		want    []string
		notWant []string
	}{
		{"two served", served, []string{
			`ledgerguard_models_served{model="dns-dga",sha256="bb",version="1.0.0"} 1`,
			`ledgerguard_models_served{model="nsl-kdd-flow",sha256="aa",version="1.0.0"} 1`,
		}, nil},
		{"one unloaded", served[1:], []string{`model="dns-dga"`}, []string{`model="nsl-kdd-flow"`}},
		{"none", nil, nil, []string{"ledgerguard_models_served{"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			served = tt.served
			mu.Unlock()
			got := scrape()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("scrape lacks %s", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("scrape holds %s", w)
				}
			}
		})
	}
}

// TestSyslogCounters: the syslog observer methods move their counters,
// labelled by reason only.
func TestSyslogCounters(t *testing.T) {
	m := New()
	m.ConnRefused("source_limit")
	m.ConnRefused("source_limit")
	m.ConnRefused("not_allowed")
	m.ConnEvicted("connection_limit")
	m.MessagesDropped("invalid", 1)
	m.MessagesDropped("store_failed", 500)
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	got := w.Body.String()
	for _, want := range []string{
		`ledgerguard_syslog_connections_refused_total{reason="source_limit"} 2`,
		`ledgerguard_syslog_connections_refused_total{reason="not_allowed"} 1`,
		`ledgerguard_syslog_connections_evicted_total{reason="connection_limit"} 1`,
		`ledgerguard_syslog_messages_dropped_total{reason="invalid"} 1`,
		`ledgerguard_syslog_messages_dropped_total{reason="store_failed"} 500`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
