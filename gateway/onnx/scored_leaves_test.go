// Runs after onnx_test.go (file order): TestInitLibraryErrors needs the
// runtime not yet initialised.

package onnx

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// TestDetectLeavesMatchesDetect: reading features from the canonical
// bytes changes nothing a model answers. Every committed model scores
// evaluation events (as the store returns them) through Detect and
// through DetectLeaves; the results must be identical, scores bit for bit.
// leavesFor returns the stored leaves the leaf tests score with model m
// (committed model name): its evaluation events (the auth models' golden
// ones) with a class no model reads in the middle, so indexes must still
// point at the leaves, and events of the model's class lacking a required
// field, or holding it as null (present), spread over the chunks:
// DetectLeaves reads require_fields from the bytes and must drop exactly
// the events Applies refuses.
func leavesFor(t *testing.T, m *Model, name string) []gateway.Leaf {
	t.Helper()
	base := goldenEvents("auth-bruteforce")
	if name != "auth-bruteforce" && name != "auth-anomaly" {
		base = benchEvents(t, m, 2000)
	}
	base = append(base[:1:1], append([]gateway.Event{{Class: gateway.ClassProcess, Fields: map[string]any{"x": 1}}}, base[1:]...)...)
	base = withRequiredGaps(base, m.Manifest().AppliesTo.RequireFields)
	return storedLeaves(t, base)
}

// openRegistry opens a registry of every committed model, closed when the
// test ends.
func openRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := NewRegistry(context.Background(), filepath.Join(repoRoot(t), "models"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestDetectLeavesMatchesDetect(t *testing.T) {
	requireORT(t)
	for _, name := range detectModels {
		t.Run(name, func(t *testing.T) {
			m := openCommitted(t, name)
			leaves := leavesFor(t, m, name)
			events := make([]gateway.Event, len(leaves))
			for i := range leaves {
				events[i] = leaves[i].Event
			}
			want, err := m.Detect(context.Background(), events)
			if err != nil {
				t.Fatal(err)
			}
			m.Engine().Reset() // window state: both calls start fresh
			got, err := m.DetectLeaves(context.Background(), leaves)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("DetectLeaves gave %d results, Detect %d; first differences: %v", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// storedLeaves returns evs as the store hands them to the alerter: each
// event's canonical bytes and the event decoded back from them.
func storedLeaves(t testing.TB, evs []gateway.Event) []gateway.Leaf {
	t.Helper()
	leaves := make([]gateway.Leaf, len(evs))
	for i := range evs {
		c, err := evs[i].Canonical()
		if err != nil {
			t.Fatal(err)
		}
		ev, ok := decodeStored(c)
		if !ok {
			t.Fatalf("event %d does not decode", i)
		}
		leaves[i] = gateway.Leaf{Event: ev, Canonical: c}
	}
	return leaves
}

func firstDiff(got, want []detect.Result) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return "lengths differ"
}

// withRequiredGaps returns evs with, after every 7th event, a copy
// lacking the first of required and, after every 11th, a copy holding it
// as null.
func withRequiredGaps(evs []gateway.Event, required []string) []gateway.Event {
	if len(required) == 0 {
		return evs
	}
	edit := func(ev gateway.Event, f func(map[string]any)) gateway.Event {
		fields := make(map[string]any, len(ev.Fields))
		for k, v := range ev.Fields {
			fields[k] = v
		}
		f(fields)
		ev.Fields = fields
		return ev
	}
	var out []gateway.Event
	for i, ev := range evs {
		out = append(out, ev)
		if i%7 == 3 {
			out = append(out, edit(ev, func(m map[string]any) { delete(m, required[0]) }))
		}
		if i%11 == 5 {
			out = append(out, edit(ev, func(m map[string]any) { m[required[0]] = nil }))
		}
	}
	return out
}
