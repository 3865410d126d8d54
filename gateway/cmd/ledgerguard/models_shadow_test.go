package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestModelsShadowReport(t *testing.T) {
	stats := []gateway.ShadowStats{{Model: "dns-dga", Version: "1.2.0", ServedVersion: "1.1.0", Active: true, Events: 40, Agreements: 38, Agreement: 0.95, WouldBeAlerts: 5, ServedAlerts: 4, ScoreDrift: 0.0312}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models/shadow" || r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"shadow": stats, "drift": []gateway.DriftStats{
			{Model: "dns-anomaly", Version: "1.0.0", Events: 9, HasStats: true, Drift: 0.4321, MaxFeature: "sld_entropy", MaxZ: 2.5},
			{Model: "auth-bruteforce", Version: "1.0.0", Events: 3}}})
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		args      []string
		want      []string
		wantErr   string
		wantUsage bool
	}{
		{"table", []string{"--url", srv.URL, "--token", "good"}, []string{"dns-dga", "1.2.0", "1.1.0", "yes", "0.9500", "0.0312", "0.432", "sld_entropy (2.50)", "no training stats"}, "", false},
		{"json", []string{"--url", srv.URL, "--token", "good", "--json"}, []string{`"would_be_alerts": 5`, `"score_drift": 0.0312`, `"max_feature": "sld_entropy"`}, "", false},
		{"bad token", []string{"--url", srv.URL, "--token", "bad"}, nil, "401", false},
		{"no url", []string{"--token", "good"}, nil, "", true},
		{"no token", []string{"--url", srv.URL}, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envGatewayToken, "")
			out, _, err := runFeatures(t, append([]string{"models", "shadow-report"}, tt.args...)...)
			switch {
			case tt.wantUsage:
				if !isUsage(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
