package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// BenchmarkAlertsPage measures the console's own cost of one Alerts page
// of page_size (50) alerts: session check, decoding the ledger's page,
// filtering and rendering the HTML (the ledger call itself is a fake; on
// the real network an evaluate adds 2-4 ms, see DESIGN.md).
func BenchmarkAlertsPage(b *testing.B) {
	for _, n := range []int{50, 1000} {
		b.Run(map[int]string{50: "page50", 1000: "page1000"}[n], func(b *testing.B) {
			h := newHarness(b, Config{PageSize: n})
			h.ledger.alerts = make([]wire.Alert, n)
			for i := range h.ledger.alerts {
				h.ledger.alerts[i] = testAlert(i)
			}
			s := h.c.sessions.create(gateway.Credential{Name: "bench", Scopes: []gateway.Scope{gateway.ScopeRead}})
			req := httptest.NewRequest(http.MethodGet, Prefix+"/alerts?severity=high&status=open", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.id})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.c.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

func BenchmarkOverviewPage(b *testing.B) {
	h := newHarness(b, Config{})
	for i := range 360 {
		h.c.samples.add(Sample{At: t0.Add(-h.c.cfg.SampleInterval * 360).Add(h.c.cfg.SampleInterval * time.Duration(i)), Stored: uint64(i * 100)})
	}
	s := h.c.sessions.create(gateway.Credential{Name: "bench", Scopes: []gateway.Scope{gateway.ScopeRead}})
	req := httptest.NewRequest(http.MethodGet, Prefix+"/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.id})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"", "2026-11-25T10:00", "2026-11-25T10:00:00Z", "2026-11-25", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s)
		if err == nil && s != "" && got.IsZero() && s != "0001-01-01" {
			t.Logf("%q parsed as the zero time", s)
		}
	})
}
