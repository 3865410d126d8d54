package features

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// memoSpecs are window specs TestWindowMemo runs: the served
// auth-bruteforce model's (when the models are there), one with key
// alternatives, "+" parts, pseudo-fields and a distinct field also used
// as a key, one whose windows read more fields twice than a fieldMemo
// holds, and one window reading each field once (nothing bound).
func memoSpecs(t *testing.T) map[string]Spec {
	specs := map[string]Spec{}
	if raw, err := os.ReadFile("../../models/auth-bruteforce/1.1.0/manifest.json"); err == nil {
		var man struct {
			Features Spec `json:"features"`
		}
		if err := json.Unmarshal(raw, &man); err != nil {
			t.Fatal(err)
		}
		specs["auth-bruteforce"] = man.Features
	}
	min := Duration(time.Minute)
	mixed := Spec{Windows: []WindowSpec{
		{Name: "a", Key: []string{"source.ip", "source.domain", "+user.name"}, Size: min, Filter: map[string]string{"event.outcome": "failure"}, Distinct: "user.name"},
		{Name: "b", Key: []string{"user.name", "+@host"}, Size: 10 * min, Distinct: "source.ip", MaxKeys: 8, MaxEvents: 5},
		{Name: "c", Key: []string{"@host"}, Size: min, Filter: map[string]string{"event.outcome": "success", "n": "3"}},
	}}
	for _, w := range mixed.Windows {
		for _, agg := range []string{"count", "distinct", "rate", "matched_ratio"} {
			if agg == "distinct" && w.Distinct == "" {
				continue
			}
			mixed.Features = append(mixed.Features, Feature{Name: w.Name + agg, Kind: KindWindow, Window: w.Name, Agg: agg})
		}
	}
	mixed.Features = append(mixed.Features, Feature{Name: "fail", Kind: KindEquals, Field: "event.outcome", Value: "failure"})
	specs["mixed"] = mixed
	var many Spec
	for i := range 20 {
		w := WindowSpec{Name: fmt.Sprintf("w%d", i), Key: []string{fmt.Sprintf("k%d", i%7), "source.ip"}, Size: min,
			Filter: map[string]string{fmt.Sprintf("f%d", i%10): "x"}}
		many.Windows = append(many.Windows, w)
		many.Features = append(many.Features, Feature{Name: w.Name, Kind: KindWindow, Window: w.Name, Agg: "matched_ratio"})
	}
	specs["many-fields"] = many
	specs["single"] = Spec{
		Windows:  []WindowSpec{{Name: "w", Key: []string{"source.ip"}, Size: min, Filter: map[string]string{"event.outcome": "failure"}, Distinct: "user.name"}},
		Features: []Feature{{Name: "n", Kind: KindWindow, Window: "w", Agg: "distinct"}},
	}
	return specs
}

// TestWindowMemo checks that windows reading an event's fields through a
// fieldMemo (bindWindows) give the vectors they give reading every field
// from the event, over random auth-like streams (fields absent, empty,
// numbers, repeated keys).
func TestWindowMemo(t *testing.T) {
	for name, spec := range memoSpecs(t) {
		t.Run(name, func(t *testing.T) {
			bound, err := Compile(spec)
			if err != nil {
				t.Fatal(err)
			}
			unbound, err := Compile(spec)
			if err != nil {
				t.Fatal(err)
			}
			unbound.wfields = nil // every field looked up in the event
			if wantBound := map[string]int{"auth-bruteforce": 4, "mixed": 4, "many-fields": maxMemoFields}[name]; len(bound.wfields) != wantBound {
				t.Fatalf("%d window fields bound (%v), want %d", len(bound.wfields), bound.wfields, wantBound)
			}
			r := rand.New(rand.NewPCG(7, uint64(len(name))))
			pick := func(vals ...any) any { return vals[r.IntN(len(vals))] }
			got, want := make([]float32, bound.Width()), make([]float32, bound.Width())
			t0 := time.Unix(1_700_000_000, 0)
			for i := range 5000 {
				fields := map[string]any{}
				put := func(k string, v any) {
					if v != nil {
						fields[k] = v
					}
				}
				put("source.ip", pick("10.0.0.1", "10.0.0.2", "10.0.0.3", "", nil))
				put("source.domain", pick("a.example", "b.example", nil))
				put("user.name", pick("root", "admin", "alice", json.Number("42"), nil))
				put("event.outcome", pick("failure", "failure", "success", nil))
				put("n", pick(json.Number("3"), "3", nil))
				for k := range 7 {
					put(fmt.Sprintf("k%d", k), pick("p", "q", nil))
				}
				for f := range 20 {
					put(fmt.Sprintf("f%d", f), pick("x", "y", nil))
				}
				ev := gateway.Event{Class: gateway.ClassAuth, Host: pick("h1", "h2").(string), Time: t0.Add(time.Duration(i) * time.Duration(r.IntN(20)) * time.Second / 10), Fields: fields}
				bound.Extract(&ev, got)
				unbound.Extract(&ev, want)
				if !sameBits(got, want) {
					t.Fatalf("event %d %v:\ngot  %v\nwant %v", i, fields, got, want)
				}
			}
			n := len(bound.wfields)
			bound.Reset()
			if len(bound.wfields) != n {
				t.Fatalf("Reset bound %d window fields, Compile %d", len(bound.wfields), n)
			}
		})
	}
}
