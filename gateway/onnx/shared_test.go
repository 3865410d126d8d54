package onnx

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// sharedGroups are committed models whose feature spec and applies_to
// are the same, so Registry.DetectLeaves extracts their rows once.
var sharedGroups = [][]string{
	{"nsl-kdd-flow", "nsl-kdd-flow-anomaly"},
	{"cic-ids2017-flow", "cic-ids2017-flow-anomaly"},
}

// sharedLeaves returns leaves for every model of sharedGroups: each
// group's evaluation events, with events lacking or nulling a required
// field and an event of a class no model reads spread among them, all
// as the store returns them.
func sharedLeaves(t testing.TB, r *Registry, n int) []gateway.Leaf {
	var base []gateway.Event
	for _, g := range sharedGroups {
		m, ok := r.Get(g[0])
		if !ok {
			t.Fatalf("%s not served", g[0])
		}
		evs := benchEvents(t, m, n)
		evs = append(evs[:1:1], append([]gateway.Event{{Class: gateway.ClassProcess, Fields: map[string]any{"x": 1}}}, evs[1:]...)...)
		base = append(base, withRequiredGaps(evs, m.Manifest().AppliesTo.RequireFields)...)
	}
	return storedLeaves(t, base)
}

// TestRegistrySharesExtraction: the registry's DetectLeaves, which
// extracts once for the models of a group, answers exactly what each
// model's own DetectLeaves answers, in model order, and the committed
// models of each group do share (their keys are equal).
func TestRegistrySharesExtraction(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	r := openRegistry(t)
	for _, g := range sharedGroups {
		a, _ := r.Get(g[0])
		b, ok := r.Get(g[1])
		if !ok || a.shareKey == "" || a.shareKey != b.shareKey {
			t.Fatalf("%s and %s do not share their extraction", g[0], g[1])
		}
	}
	leaves := sharedLeaves(t, r, 1500)
	got, err := r.DetectLeaves(ctx, leaves)
	if err != nil {
		t.Fatal(err)
	}
	var wantRes []detect.Result
	for _, m := range r.Models() {
		m.Engine().Reset()
		res, err := m.DetectLeaves(ctx, leaves)
		if err != nil {
			t.Fatal(err)
		}
		wantRes = append(wantRes, res...)
	}
	if len(got) == 0 || !reflect.DeepEqual(got, wantRes) {
		t.Fatalf("registry gave %d results, the models alone %d; first difference: %v", len(got), len(wantRes), firstDiff(got, wantRes))
	}
	// Twice in a row: the pooled buffers of the first call must not leak
	// into the second.
	again, err := r.DetectLeaves(ctx, leaves)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, wantRes) {
		t.Fatalf("second call differs: %v", firstDiff(again, wantRes))
	}
}

// TestShareKeyDistinguishesSelection: models share an extraction only
// when they read the same features from the same events; any difference
// in the spec or in what applies_to selects gives another key.
func TestShareKeyDistinguishesSelection(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "models", "nsl-kdd-flow", "*", "manifest.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no nsl-kdd-flow manifest: %v", err)
	}
	m, _, err := LoadManifest(filepath.Dir(dirs[len(dirs)-1]))
	if err != nil {
		t.Fatal(err)
	}
	base := shareKeyOf(m.Features, m.AppliesTo)
	if base == "" {
		t.Fatal("no key for nsl-kdd-flow")
	}
	other := func(f func(*Manifest)) string {
		c := *m
		c.AppliesTo = AppliesTo{
			Classes:       append([]gateway.Class(nil), m.AppliesTo.Classes...),
			Sourcetypes:   append([]string(nil), m.AppliesTo.Sourcetypes...),
			RequireFields: append([]string(nil), m.AppliesTo.RequireFields...),
		}
		f(&c)
		return shareKeyOf(c.Features, c.AppliesTo)
	}
	for _, tc := range []struct {
		name string
		f    func(*Manifest)
		same bool
	}{
		{"unchanged", func(*Manifest) {}, true},
		{"another class", func(c *Manifest) { c.AppliesTo.Classes = append(c.AppliesTo.Classes, gateway.ClassProcess) }, false},
		{"a sourcetype", func(c *Manifest) { c.AppliesTo.Sourcetypes = append(c.AppliesTo.Sourcetypes, "zeek:conn") }, false},
		{"a required field", func(c *Manifest) { c.AppliesTo.RequireFields = append(c.AppliesTo.RequireFields, "x") }, false},
		{"a feature fewer", func(c *Manifest) { c.Features.Features = c.Features.Features[1:] }, false},
	} {
		if got := other(tc.f) == base; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}
}

// BenchmarkDetectShared measures what the gateway spends per event on
// each group of sharedGroups: Registry.DetectLeaves over a registry
// serving only the group's models, on BenchmarkDetect's batch (8,192
// leaves of the group's first model), so the features are extracted once
// for both models. ns/event and cpu-ns/event are the whole group's wall
// and CPU time per event; ns/model-event and cpu-ns/model-event divide
// them by the models in the group (each model's share, comparable with
// BenchmarkDetect's per-model figures).
func BenchmarkDetectShared(b *testing.B) {
	requireORT(b)
	for _, g := range sharedGroups {
		b.Run(strings.Join(g, "+"), func(b *testing.B) {
			root := b.TempDir()
			for _, name := range g {
				dir := modelDir(b, name) // its served version, copied: the registry reads directories, not links
				if err := os.CopyFS(filepath.Join(root, name, filepath.Base(dir)), os.DirFS(dir)); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			r, err := NewRegistry(ctx, root)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = r.Close() })
			first, ok := r.Get(g[0])
			if !ok || len(r.Models()) != len(g) {
				b.Fatalf("the registry serves %d models, not %v", len(r.Models()), g)
			}
			evs, raw := detectInput(b, first, g[0])
			leaves := make([]gateway.Leaf, len(evs))
			for i := range evs {
				leaves[i] = gateway.Leaf{Event: evs[i], Canonical: raw[i]}
			}
			cpu0 := cpuTime(b)
			for b.Loop() {
				res, err := r.DetectLeaves(ctx, leaves)
				if err != nil {
					b.Fatal(err)
				}
				if len(res) != len(g)*len(evs) {
					b.Fatalf("%d results for %d events and %d models", len(res), len(evs), len(g))
				}
			}
			wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(evs))
			cpu := float64((cpuTime(b) - cpu0).Nanoseconds()) / float64(b.N*len(evs))
			b.ReportMetric(wall, "ns/event")
			b.ReportMetric(cpu, "cpu-ns/event")
			b.ReportMetric(wall/float64(len(g)), "ns/model-event")
			b.ReportMetric(cpu/float64(len(g)), "cpu-ns/model-event")
		})
	}
}
