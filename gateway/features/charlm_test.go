package features

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyLM is a bigram model over "ab" with hand-picked log-probabilities.
func tinyLM() *CharLM {
	return &CharLM{Order: 2,
		LogP:    map[string]float64{"^a": math.Log(0.5), "ab": math.Log(0.25), "b$": math.Log(0.5)},
		Context: map[string]float64{"^": math.Log(0.1), "a": math.Log(0.05), "b": math.Log(0.2)},
		Unseen:  math.Log(0.01)}
}

func TestCharLM(t *testing.T) {
	lm := tinyLM()
	stats := []string{"surprisal", "mean_surprisal", "max_surprisal"}
	// "ab": ^a (0.5) ab (0.25) b$ (0.5)
	ab := -math.Log(0.5) - math.Log(0.25) - math.Log(0.5)
	// "AZ.": lower-cased, dot trimmed → "az": ^a (0.5), az (context a: 0.05), z$ (unseen context: 0.01)
	az := -math.Log(0.5) - math.Log(0.05) - math.Log(0.01)
	tests := []struct {
		name string
		f    Feature
		ev   map[string]any
		want []float32
	}{
		{"seen n-grams", Feature{Name: "lm", Kind: KindCharLM, Field: "q", Stats: stats, CharLM: lm}, map[string]any{"q": "ab"},
			[]float32{float32(ab), float32(ab / 3), float32(-math.Log(0.25))}},
		{"unseen falls back to context then unseen", Feature{Name: "lm", Kind: KindCharLM, Field: "q", Stats: stats, CharLM: lm}, map[string]any{"q": "AZ."},
			[]float32{float32(az), float32(az / 3), float32(-math.Log(0.01))}},
		{"sld part", Feature{Name: "lm", Kind: KindCharLM, Field: "q", Part: "sld", Stats: stats[:1], CharLM: lm}, map[string]any{"q": "www.ab.co.uk"},
			[]float32{float32(ab)}},
		{"missing field scores the empty string", Feature{Name: "lm", Kind: KindCharLM, Field: "q", Stats: stats[:1], CharLM: lm}, nil,
			[]float32{float32(-math.Log(0.1))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(Spec{Features: []Feature{tc.f}})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, e.Width())
			x := ev(tc.ev)
			e.Extract(&x, got)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-5 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestCharLMSpecErrors(t *testing.T) {
	bad := func(mut func(*CharLM)) *CharLM { lm := tinyLM(); mut(lm); return lm }
	tests := []struct {
		name string
		f    Feature
	}{
		{"no table", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}}},
		{"no stats", Feature{Name: "a", Kind: KindCharLM, Field: "q", CharLM: tinyLM()}},
		{"unknown stat", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"vibes"}, CharLM: tinyLM()}},
		{"bad part", Feature{Name: "a", Kind: KindCharLM, Field: "q", Part: "tld", Stats: []string{"surprisal"}, CharLM: tinyLM()}},
		{"order 1", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.Order = 1 })}},
		{"order 9", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.Order = 9 })}},
		{"n-gram of wrong length", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.LogP["abc"] = -1 })}},
		{"positive log-probability", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.LogP["ba"] = 0.5 })}},
		{"NaN context", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.Context["b"] = math.NaN() })}},
		{"infinite unseen", Feature{Name: "a", Kind: KindCharLM, Field: "q", Stats: []string{"surprisal"}, CharLM: bad(func(m *CharLM) { m.Unseen = math.Inf(-1) })}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(Spec{Features: []Feature{tc.f}})
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) {
				t.Fatalf("got %v, want a *SpecError", err)
			}
		})
	}
}

// charLMReference scores s the plain way (string keys over the padded
// string): the oracle of FuzzCharLMReference.
func charLMReference(m *CharLM, s string) (sum, worst float64) {
	p := strings.Repeat("^", m.Order-1) + s + "$"
	for i := m.Order - 1; i < len(p); i++ {
		g := p[i-m.Order+1 : i+1]
		lp, ok := m.LogP[g]
		if !ok {
			if lp, ok = m.Context[g[:len(g)-1]]; !ok {
				lp = m.Unseen
			}
		}
		sum -= lp
		worst = max(worst, -lp)
	}
	return sum, worst
}

// FuzzCharLMReference checks the packed-integer scorer against the plain
// one for every order on arbitrary bytes (names with '^', '$', NUL, UTF-8).
func FuzzCharLMReference(f *testing.F) {
	for _, s := range []string{"", "ab", "google", "xn--bcher-kva", "1sbh3891b5qfxt3dszss1grf20g", "^$^$", "a\x00b\xff"} {
		f.Add(s)
	}
	train := []string{"google", "facebook", "ab", "amazon", "wikipedia", "a-b1"}
	f.Fuzz(func(t *testing.T, s string) {
		for order := 2; order <= 8; order++ {
			m := &CharLM{Order: order, LogP: map[string]float64{}, Context: map[string]float64{}, Unseen: -4}
			for _, w := range append(train, s) {
				p := strings.Repeat("^", order-1) + w + "$"
				for i := order - 1; i < len(p); i++ {
					m.LogP[p[i-order+1:i+1]] = -float64(1 + (i % 3))
					m.Context[p[i-order+1:i]] = -3.5
				}
			}
			c, err := compileCharLM(Feature{CharLM: m, Stats: CharLMStats})
			if err != nil {
				t.Fatal(err)
			}
			var got [3]float64
			c.score(s+"q", got[:])
			sum, worst := charLMReference(m, s+"q")
			if got[0] != sum || got[2] != worst || got[1] != sum/float64(len(s)+2) {
				t.Fatalf("order %d %q: got %v, want sum %v worst %v", order, s, got, sum, worst)
			}
		}
	})
}

// servedCharLM returns the charlm feature of the committed dns-dga model
// and DNS names from the shared DGA data set (benign and DGA families),
// or skips when either is missing.
func servedCharLM(tb testing.TB) (Feature, []string) {
	tb.Helper()
	raw, err := os.ReadFile("../../models/dns-dga/1.2.0/manifest.json")
	if err != nil {
		tb.Skipf("no dns-dga manifest: %v", err)
	}
	var man struct {
		Features Spec `json:"features"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		tb.Fatal(err)
	}
	var f Feature
	for _, g := range man.Features.Features {
		if g.Kind == KindCharLM {
			f = g
		}
	}
	if f.CharLM == nil {
		tb.Skip("dns-dga has no charlm feature")
	}
	files, _ := filepath.Glob("../../../shared/data/dga-domains/andrewaeva_*_1000.txt")
	var names []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, strings.Fields(string(b))...)
	}
	if len(names) == 0 {
		tb.Skip("no DGA data set in ../shared/data")
	}
	return f, names
}

// mapCharLM is c with its tables in Go maps, as every order was held
// before gramTables: the reference TestCharLMServed and BenchmarkCharLM
// compare them with.
func mapCharLM(tb testing.TB, f Feature) *charLM {
	c, err := compileCharLM(f)
	if err != nil {
		tb.Fatal(err)
	}
	c.small = nil
	c.logp, c.context = map[uint64]float64{}, map[uint64]float64{}
	for k, v := range f.CharLM.LogP {
		c.logp[pack(k)] = v
	}
	for k, v := range f.CharLM.Context {
		c.context[pack(k)] = v
	}
	return c
}

// TestCharLMServed scores the shared data set's names (registrable
// labels and whole names) with the served model's tables both ways.
func TestCharLMServed(t *testing.T) {
	f, names := servedCharLM(t)
	f.Stats = CharLMStats
	c, err := compileCharLM(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.small == nil {
		t.Fatalf("order %d model not in gramTables", c.order)
	}
	ref := mapCharLM(t, f)
	for _, n := range names {
		for _, s := range []string{RegistrableLabel(n), n, strings.ToUpper(n), n + "\xff\x00^$"} {
			var got, want [3]float64
			c.score(s, got[:])
			ref.score(s, want[:])
			if got != want {
				t.Fatalf("%q: got %v, want %v", s, got, want)
			}
		}
	}
}

// BenchmarkCharLM scores the registrable labels of the shared data set's
// names with the served dns-dga model, its tables in Go maps and in
// gramTables alternated (pairedCPU), CPU ns per name.
func BenchmarkCharLM(b *testing.B) {
	f, names := servedCharLM(b)
	labels := make([]string, len(names))
	for i, n := range names {
		labels[i] = RegistrableLabel(n)
	}
	table, err := compileCharLM(f)
	if err != nil {
		b.Fatal(err)
	}
	maps := mapCharLM(b, f)
	var dst [1]float64
	run := func(c *charLM) func() {
		return func() {
			for _, s := range labels {
				c.score(s, dst[:])
			}
		}
	}
	pairedCPU(b, "name", len(labels), []string{"maps", "table"}, []func(){run(maps), run(table)})
}
