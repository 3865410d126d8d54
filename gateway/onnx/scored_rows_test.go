package onnx

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestFeatureObserver: the observer sees exactly the rows the model
// scored (the events it applies to), with the vectors the engine of a
// fresh model computes.
func TestFeatureObserver(t *testing.T) {
	requireORT(t)
	var mu sync.Mutex
	var seen []float32
	var rows int
	m, err := Open(modelDir(t, "dns-anomaly"), WithMaxWait(-1), WithFeatureObserver(func(_ *Manifest, x []float32, n int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, x...)
		rows += n
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ref := openCommitted(t, "dns-anomaly", WithMaxWait(-1))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	evs := []gateway.Event{
		{Time: t0, Class: gateway.ClassDNS, Fields: map[string]any{"dns.question.name": "example.com"}},
		{Time: t0, Class: gateway.ClassAuth, Fields: map[string]any{"user.name": "x"}},
		{Time: t0, Class: gateway.ClassDNS, Fields: map[string]any{"dns.question.name": "qzkxjv0f9.info"}},
	}
	if _, err := m.Detect(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	w := ref.Engine().Width()
	want := make([]float32, 0, 2*w)
	for _, i := range []int{0, 2} {
		v := make([]float32, w)
		ref.Engine().Extract(&evs[i], v)
		want = append(want, v...)
	}
	if rows != 2 || !slices.Equal(seen, want) {
		t.Errorf("observed %d rows %v, want 2 rows %v", rows, seen, want)
	}
}
