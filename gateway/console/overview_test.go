package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestSamplerKeepsADayOfMinutesBounded: two days of 10-second samples
// leave an hour of them and one per minute of the last day.
func TestSamplerKeepsADayOfMinutesBounded(t *testing.T) {
	s := newSampler(time.Hour, 10*time.Second)
	var n uint64
	for at := t0.Add(-48*time.Hour + 5*time.Second); at.Before(t0); at = at.Add(10 * time.Second) {
		n += 6 // 36 per minute
		s.add(Sample{At: at, Stored: n})
	}
	if got, want := len(s.snapshot()), 362; got != want {
		t.Errorf("hour ring: got %d samples, want %d", got, want)
	}
	day := s.snapshotDay()
	if got, want := len(day), minutesPerDay; got != want {
		t.Errorf("day ring: got %d samples, want %d", got, want)
	}
	if cap(s.daily) != minutesPerDay || cap(s.recent) != 362 {
		t.Errorf("rings grew: caps %d, %d", cap(s.daily), cap(s.recent))
	}
	sp := spans["day"]
	got := perBucket(day, t0, sp.bars(), sp.Bucket, func(s Sample) uint64 { return s.Stored })
	if len(got) != 96 {
		t.Fatalf("bars: got %d, want 96", len(got))
	}
	for i, v := range got[1 : len(got)-1] { // whole 15-minute bars
		if v != 15*36 {
			t.Fatalf("bar %d: got %d, want %d", i+1, v, 15*36)
		}
	}
}

func TestCountBuckets(t *testing.T) {
	now := t0.Add(30 * time.Second)
	times := []time.Time{t0.Add(-3 * time.Minute), t0.Add(-90 * time.Second), t0.Add(-61 * time.Second), t0.Add(5 * time.Second), t0.Add(2 * time.Minute)}
	got := countBuckets(times, now, 3, time.Minute)
	want := []uint64{2, 0, 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestOverviewSpans(t *testing.T) {
	h := newHarness(t, Config{})
	h.ledger.responses[0].Outcomes = []wire.Outcome{
		{Status: wire.ResponseSucceeded, At: wire.NewTime(t0.Add(-30 * time.Second))},
		{Status: wire.ResponseSucceeded, At: wire.NewTime(t0.Add(-3 * time.Hour))},
	}
	b := h.signIn(readTok)
	for _, tc := range []struct {
		span, want, actions string
	}{
		{"", "The last hour", "1 actions in the last hour"},
		{"hour", "The last hour", "1 actions in the last hour"},
		{"day", "The last day", "2 actions in the last day (peak 1 per 15 minutes)"},
	} {
		st, page, _ := b.get(Prefix + "/?span=" + tc.span)
		if st != http.StatusOK || !strings.Contains(page, tc.want) || !strings.Contains(page, "Actions executed per ") || !strings.Contains(page, tc.actions) {
			t.Errorf("span %q: %d, want %q and %q in the page", tc.span, st, tc.want, tc.actions)
		}
	}
	if st, _, _ := b.get(Prefix + "/?span=week"); st != http.StatusBadRequest {
		t.Errorf("span=week: %d, want 400", st)
	}
}
