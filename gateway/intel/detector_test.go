package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
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
	// Scoring the same events again (a retried batch) counts no new
	// sightings; scoring them as leaves answers exactly what Detect does.
	leaves := make([]gateway.Leaf, len(events))
	for i, e := range events {
		leaves[i] = gateway.Leaf{Event: e}
	}
	var ld detect.LeafDetector = d
	fromLeaves, err := ld.DetectLeaves(context.Background(), leaves)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromLeaves, got) {
		t.Errorf("DetectLeaves = %+v\nwant Detect's %+v", fromLeaves, got)
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

// BenchmarkDetector measures the matcher's share of the per-event cost of
// detection (BENCH intel_detect_ns_per_event in `make bench`): events as
// the store hands them to detection (canonical JSON decoded back), shaped
// as the normalisers write connection, DNS, HTTP, TLS and file events,
// checked against the benchmark's 1,000,000 indicators in chunks of 2,048
// as alerting does, about 1 % of them matching. "observables" is the
// extraction alone, "detect" extraction, lookups and results; both report
// CPU nanoseconds per event on one core.
func BenchmarkDetector(b *testing.B) {
	benchOnce.Do(buildBench)
	events := benchEvents(b, 8192)
	b.Run("observables", func(b *testing.B) {
		var obs []Observable
		n := 0
		benchPerEvent(b, len(events), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				obs = Observables(&events[i], obs[:0])
				n += len(obs)
			}
		})
		if n == 0 {
			b.Fatal("no observables")
		}
	})
	b.Run("detect", func(b *testing.B) {
		d := &Detector{Matcher: benchMatcher}
		flagged := 0
		benchPerEvent(b, len(events), func(lo, hi int) {
			rs, err := d.Detect(context.Background(), events[lo:hi])
			if err != nil {
				b.Fatal(err)
			}
			flagged += len(rs)
		})
		if b.N >= len(events) && flagged == 0 {
			b.Fatal("no event matched: the events are not what the benchmark says")
		}
	})
}

// benchPerEvent runs fn over b.N events in chunks of scanChunk and reports
// CPU nanoseconds per event.
func benchPerEvent(b *testing.B, n int, fn func(lo, hi int)) {
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for done := 0; done < b.N; {
		lo := done % n
		hi := min(lo+scanChunk, n, lo+b.N-done)
		fn(lo, hi)
		done += hi - lo
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
}

// benchEvents builds n events, one in a hundred carrying a value of the
// benchmark's indicators, round-tripped through their canonical form.
func benchEvents(b *testing.B, n int) []gateway.Event {
	b.Helper()
	var hits []Observable
	for i, o := range benchObs {
		if i%2 == 0 { // benchObs alternates hit, miss
			hits = append(hits, o)
		}
	}
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	events := make([]gateway.Event, n)
	for i := range events {
		f := map[string]any{
			"source.ip":      fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff),
			"destination.ip": fmt.Sprintf("172.%d.%d.%d", 16+i%16, i>>8&0xff, i&0xff),
		}
		switch i % 5 {
		case 1:
			f["dns.question.name"] = fmt.Sprintf("www.site%d.example.org", i)
			f["dns.answers.data"] = []any{fmt.Sprintf("192.0.%d.%d", i>>8&0xff, i&0xff), fmt.Sprintf("cdn%d.example.net", i)}
		case 2:
			f["url.full"] = fmt.Sprintf("http://shop%d.example.com/p/%d?q=%d", i%300, i, i)
			f["url.domain"] = fmt.Sprintf("shop%d.example.com", i%300)
			f["user_agent.original"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
		case 3:
			f["tls.client.ja3"] = fmt.Sprintf("%032x", i*7919)
			f["tls.client.server_name"] = fmt.Sprintf("api%d.example.com", i%1000)
		case 4:
			f["file.hash.sha256"] = fmt.Sprintf("%064x", i*104729+1)
		}
		if i%100 == 0 {
			h := hits[(i/100)%len(hits)]
			switch h.Kind {
			case ObservableIP:
				f["destination.ip"] = h.Value
			case wire.IndicatorDomain:
				f["dns.question.name"] = h.Value
			case wire.IndicatorURL:
				f["url.full"] = h.Value
			case wire.IndicatorSHA256:
				f["file.hash.sha256"] = h.Value
			case wire.IndicatorJA3:
				f["tls.client.ja3"] = h.Value
			}
		}
		ev := gateway.Event{ID: fmt.Sprintf("ev-%d", i), Time: t0.Add(time.Duration(i) * time.Millisecond), Source: "bench", Sourcetype: "zeek", Fields: f}
		raw, err := ev.Canonical()
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(raw, &events[i]); err != nil {
			b.Fatal(err)
		}
	}
	return events
}

// TestSightingsFlushMayHaveCommitted: a report whose transaction may have
// committed (a transient failure at the submit or commit stage) is not
// reported again, since ReportSightings would record it twice; one that
// failed before the orderers saw it (endorse), or was committed invalid
// by a read conflict, is merged back as before.
func TestSightingsFlushMayHaveCommitted(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		err       error
		wantCount int64
	}{
		{"endorse", &gateway.LedgerUnavailableError{Op: "ReportSightings", Stage: gateway.StageEndorse, Err: errors.New("down")}, 2},
		{"submit", &gateway.LedgerUnavailableError{Op: "ReportSightings", Stage: gateway.StageSubmit, Err: context.DeadlineExceeded}, 1},
		{"commit status timeout", &gateway.LedgerUnavailableError{Op: "ReportSightings", Stage: gateway.StageCommit, Err: context.DeadlineExceeded}, 1},
		{"commit read conflict", &gateway.LedgerUnavailableError{Op: "ReportSightings", Stage: gateway.StageCommit, Err: gateway.ErrLedgerConflict}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSightings()
			s.Record("a", "e1", t0)
			r := &fakeReporter{fail: tt.err}
			if _, err := s.Flush(context.Background(), r); err == nil {
				t.Fatal("Flush: want an error")
			}
			s.Record("a", "e2", t0)
			r.fail = nil
			if _, err := s.Flush(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got := r.calls[0][0].Count; got != tt.wantCount {
				t.Errorf("reported count %d, want %d", got, tt.wantCount)
			}
		})
	}
}
