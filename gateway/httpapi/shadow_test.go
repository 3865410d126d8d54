package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestShadowEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	stats := []gateway.ShadowStats{{Model: "dns-dga", Version: "1.2.0", ServedVersion: "1.1.0", Events: 4, Agreements: 3, WouldBeAlerts: 1, Agreement: 0.75, Active: true}}
	tests := []struct {
		name   string
		shadow func() []gateway.ShadowStats
		auth   string
		code   int
		want   []gateway.ShadowStats
	}{
		{"no shadow source", nil, "Bearer " + tokRead, http.StatusOK, []gateway.ShadowStats{}},
		{"shadow models", func() []gateway.ShadowStats { return stats }, "Bearer " + tokRead, http.StatusOK, stats},
		{"no token", func() []gateway.ShadowStats { return stats }, "", http.StatusUnauthorized, nil},
		{"ingest token", func() []gateway.ShadowStats { return stats }, "Bearer " + tokNDJSON, http.StatusForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.deps.Shadow = tt.shadow
			w := h.do(req{method: "GET", path: "/v1/models/shadow", auth: tt.auth})
			if w.Code != tt.code {
				t.Fatalf("code %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if tt.want == nil {
				return
			}
			var got ShadowResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Shadow) != len(tt.want) || (len(got.Shadow) > 0 && got.Shadow[0] != tt.want[0]) {
				t.Errorf("got %+v, want %+v", got.Shadow, tt.want)
			}
		})
	}
}
