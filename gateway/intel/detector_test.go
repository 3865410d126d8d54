package intel

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestObservables(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		want   []Observable
	}{
		{"none", nil, nil},
		{"flat ECS fields", map[string]any{"source.ip": "192.0.2.1", "destination.ip": "", "dns.question.name": "a.evil.example", "other": "x"},
			[]Observable{{ObservableIP, "192.0.2.1", "source.ip"}, {wire.IndicatorDomain, "a.evil.example", "dns.question.name"}}},
		{"nested ECS object", map[string]any{"url": map[string]any{"full": "http://x.example/"}, "file": map[string]any{"hash": map[string]any{"sha256": "ab"}}},
			[]Observable{{wire.IndicatorURL, "http://x.example/", "url.full"}, {wire.IndicatorSHA256, "ab", "file.hash.sha256"}}},
		{"lists", map[string]any{"dns.answers.data": []string{"198.51.100.1", "cname.example"}, "email.to.address": []any{"a@x.example", 7, ""}},
			[]Observable{{ObservableIP, "198.51.100.1", "dns.answers.data"}, {ObservableIP, "cname.example", "dns.answers.data"}, {wire.IndicatorEmail, "a@x.example", "email.to.address"}}},
		{"tls and user agent", map[string]any{"tls.client.ja3": "J", "tls.client.ja4": "K", "user_agent.original": "UA"},
			[]Observable{{wire.IndicatorJA3, "J", "tls.client.ja3"}, {wire.IndicatorJA4, "K", "tls.client.ja4"}, {wire.IndicatorUserAgent, "UA", "user_agent.original"}}},
		{"non-string values ignored", map[string]any{"source.ip": 7, "destination.ip": map[string]any{"x": 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Observables(&gateway.Event{Fields: tt.fields}, nil)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Observables = %v, want %v", got, tt.want)
			}
		})
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = "192.0.2.1"
	}
	if got := len(Observables(&gateway.Event{Fields: map[string]any{"dns.answers.data": many}}, nil)); got != maxValuesPerField {
		t.Errorf("a 1000-value list gave %d observables, want the cap %d", got, maxValuesPerField)
	}
}

func TestDetector(t *testing.T) {
	m := NewMatcher()
	green := entry(t, "Org1MSP", wire.IndicatorDomain, "evil.example")
	green.Techniques = []string{"T1071.004", "T1568"}
	amber := entry(t, "Org1MSP", wire.IndicatorIPv4, "198.51.100.9")
	amber.TLP = wire.TLPAmber
	amber.Confidence = 100
	m.Put(green)
	m.Put(amber)
	s := NewSightings()
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	d := &Detector{Matcher: m, Sightings: s}
	events := []gateway.Event{
		{ID: "e0", Time: t0, Fields: map[string]any{"dns.question.name": "x.evil.example", "url.domain": "evil.example"}},
		{ID: "e1", Time: t0.Add(time.Second), Fields: map[string]any{"source.ip": "10.0.0.1"}},
		{ID: "e2", Time: t0.Add(2 * time.Second), Fields: map[string]any{"destination.ip": "198.51.100.9", "source.ip": "198.51.100.9"}},
	}
	got, err := d.Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2 (one per event and indicator): %+v", len(got), got)
	}
	g, a := got[0], got[1]
	if g.Index != 0 || g.Model != wire.DetectorIntelMatch || g.Version != green.ID || g.SHA256 != green.Hash ||
		g.Category != "T1071.004" || g.Score != 0.8 || !g.Flagged || g.Fields[wire.AlertFieldIntelSharedBy] != "Org1MSP" ||
		g.Fields[wire.AlertFieldIntelField] != "dns.question.name" || len(g.Redact) != 0 {
		t.Errorf("GREEN domain result = %+v", g)
	}
	if a.Index != 2 || a.Category != DefaultCategory || a.Score != 1 || !slices.Equal(a.Redact, []string{"source.ip", "destination.ip"}) {
		t.Errorf("AMBER ip result = %+v; want both fields holding the matched value redacted", a)
	}
	// Scoring the same events again (a retried batch) counts no new sightings.
	if _, err := d.Detect(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	p := s.Pending()
	if len(p) != 2 {
		t.Fatalf("pending sightings = %+v, want 2", p)
	}
	for _, x := range p {
		if x.Count != 1 {
			t.Errorf("sighting %s count %d, want 1", x.IndicatorID, x.Count)
		}
	}
}

type fakeReporter struct {
	calls [][]wire.Sighting
	fail  error
}

func (f *fakeReporter) ReportSightings(_ context.Context, s []wire.Sighting) (string, error) {
	if f.fail != nil {
		return "", f.fail
	}
	f.calls = append(f.calls, slices.Clone(s))
	return "tx", nil
}

func TestSightingsFlush(t *testing.T) {
	s := NewSightings()
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	s.Record("a", "e1", t0.Add(time.Minute))
	s.Record("a", "e2", t0)
	s.Record("a", "e2", t0) // the same event again: not counted
	s.Record("b", "e1", t0)
	r := &fakeReporter{fail: &gateway.LedgerUnavailableError{Op: "ReportSightings", Err: errors.New("down")}}
	if _, err := s.Flush(context.Background(), r); err == nil {
		t.Fatal("Flush with the ledger down: want an error")
	}
	s.Record("a", "e3", t0.Add(2*time.Minute))
	r.fail = nil
	n, err := s.Flush(context.Background(), r)
	if err != nil || n != 2 || len(r.calls) != 1 {
		t.Fatalf("Flush = %d, %v, calls %d; want 2 indicators in one call", n, err, len(r.calls))
	}
	a := r.calls[0][0]
	if a.IndicatorID != "a" || a.Count != 3 || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("sighting a = %+v; want count 3 (failed flush merged back), first %v, last %v", a, t0, t0.Add(2*time.Minute))
	}
	if n, _ := s.Flush(context.Background(), r); n != 0 {
		t.Errorf("second Flush reported %d, want 0", n)
	}
}
