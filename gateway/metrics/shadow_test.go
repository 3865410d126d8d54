package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestShadowModels(t *testing.T) {
	m := New()
	var now []ShadowModel
	if err := m.ShadowModels(func() []ShadowModel { return now }); err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		w := httptest.NewRecorder()
		m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	tests := []struct {
		name    string
		shadow  []ShadowModel
		want    []string
		notWant []string
	}{
		{"none", nil, nil, []string{"ledgerguard_shadow_"}},
		{"one in shadow", []ShadowModel{{Name: "dns-dga", Version: "1.2.0", ServedVersion: "1.1.0", Active: true, Events: 10, Agreements: 9, WouldBeAlerts: 3, ServedAlerts: 2, ScoreDrift: 0.25}}, []string{
			`ledgerguard_shadow_active{model="dns-dga",served_version="1.1.0",version="1.2.0"} 1`,
			`ledgerguard_shadow_events_total{model="dns-dga",served_version="1.1.0",version="1.2.0"} 10`,
			`ledgerguard_shadow_agreements_total{model="dns-dga",served_version="1.1.0",version="1.2.0"} 9`,
			`ledgerguard_shadow_would_be_alerts_total{model="dns-dga",served_version="1.1.0",version="1.2.0"} 3`,
			`ledgerguard_shadow_served_alerts_total{model="dns-dga",served_version="1.1.0",version="1.2.0"} 2`,
			`ledgerguard_shadow_score_drift{model="dns-dga",served_version="1.1.0",version="1.2.0"} 0.25`,
		}, nil},
		{"promoted", []ShadowModel{{Name: "dns-dga", Version: "1.2.0", ServedVersion: "1.1.0"}}, []string{
			`ledgerguard_shadow_active{model="dns-dga",served_version="1.1.0",version="1.2.0"} 0`,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = tt.shadow
			got := scrape()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("scrape lacks %s", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("scrape has %s", w)
				}
			}
		})
	}
}

func TestModelDrift(t *testing.T) {
	m := New()
	if err := m.ModelDrift(func() []ModelDrift {
		return []ModelDrift{{Name: "dns-anomaly", Version: "1.0.0", Events: 3, Drift: 0.5}}
	}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := `ledgerguard_model_input_drift{model="dns-anomaly",version="1.0.0"} 0.5`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("scrape lacks %s", want)
	}
}
