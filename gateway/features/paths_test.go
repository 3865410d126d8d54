package features

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// pathSpec reads ten fields with every non-window kind, transforms
// included, and a pseudo-field.
func pathSpec() Spec {
	var fs []Feature
	for i := range 4 {
		fs = append(fs, Feature{Name: fmt.Sprintf("n%d", i), Kind: KindNumeric, Field: fmt.Sprintf("f%d", i), Default: -1,
			Transforms: []Transform{{Op: "log1p"}, {Op: "clip", Min: -5, Max: 5}}})
	}
	fs = append(fs,
		Feature{Name: "c", Kind: KindCategorical, Field: "f4", Vocab: []string{"tcp", "udp"}, Other: true, Lower: true},
		Feature{Name: "ci", Kind: KindCategorical, Field: "f5", Vocab: []string{"a", "b"}, Encoding: "index"},
		Feature{Name: "e", Kind: KindEquals, Field: "f6", Value: "yes"},
		Feature{Name: "l", Kind: KindLexical, Field: "f7", Stats: LexicalStats},
		Feature{Name: "s", Kind: KindLexical, Field: "f8", Part: "sld", Stats: []string{"length", "entropy"}},
		Feature{Name: "n9", Kind: KindNumeric, Field: "f9", Default: 7},
		Feature{Name: "n9b", Kind: KindNumeric, Field: "f9"}, // two features on one field
		Feature{Name: "cls", Kind: KindEquals, Field: "@class", Value: "flow"},
	)
	return Spec{Features: fs}
}

// FuzzExtractPaths checks that a feature's columns depend only on its own
// field: the vector of a many-feature engine is, bit for bit, the
// concatenation of single-feature engines' vectors.
func FuzzExtractPaths(f *testing.F) {
	f.Add("1|2.5|-3|x|TCP|b|yes|Qx7.example.com|mail.google.co.uk|9", uint16(0x3ff))
	f.Add("||||||||||", uint16(0))
	f.Add("1e400|nan|true| 4 |udp|a|no|||", uint16(0x155))
	spec := pathSpec()
	whole, err := Compile(spec)
	if err != nil {
		f.Fatal(err)
	}
	var singles []*Engine
	for _, ft := range spec.Features {
		e, err := Compile(Spec{Features: []Feature{ft}})
		if err != nil {
			f.Fatal(err)
		}
		singles = append(singles, e)
	}
	f.Fuzz(func(t *testing.T, vals string, present uint16) {
		parts := strings.Split(vals, "|")
		fields := map[string]any{"extra": "x"}
		for i := range 10 {
			if present&(1<<i) == 0 || i >= len(parts) {
				continue
			}
			switch p := parts[i]; {
			case i%3 == 1:
				fields[fmt.Sprintf("f%d", i)] = json.Number(p)
			case p == "true":
				fields[fmt.Sprintf("f%d", i)] = true
			default:
				fields[fmt.Sprintf("f%d", i)] = p
			}
		}
		e := ev(fields)
		got := make([]float32, whole.Width())
		whole.Extract(&e, got)
		var want []float32
		for _, s := range singles {
			v := make([]float32, s.Width())
			s.Extract(&e, v)
			want = append(want, v...)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("column %s: engine %v, single-feature engine %v (fields %v)", whole.names[i], got[i], want[i], fields)
			}
		}
	})
}
