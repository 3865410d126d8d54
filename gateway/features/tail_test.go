package features

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// forwardFields is scanFields as it was before scanTail: the forward
// reader alone, the reference scanTail is compared with.
func forwardFields(b []byte, keys []string, vals []rawValue) bool {
	clear(vals)
	if i, ok := skipHeader(b); ok {
		if i < 0 {
			return true
		}
		return scanObject(b, i, keys, memberNames(keys), vals)
	}
	return false
}

// tailFields is scanFields with scanTail forced: the end of "fields"
// backward, then the forward reader for what is left. tail says whether
// scanTail ran (fieldsClose found the end).
func tailFields(b []byte, ev *gateway.Event, keys []string, vals []rawValue) (ok, tail bool) {
	clear(vals)
	c, found := fieldsClose(b, ev)
	if !found {
		return forwardFields(b, keys, vals), false
	}
	hi, _, ok := scanTail(b, c, keys, vals)
	if !ok {
		return false, true
	}
	if hi == 0 {
		return true, true
	}
	if i, ok := skipHeader(b); ok && i >= 0 {
		return scanObject(b, i, keys[:hi], memberNames(keys[:hi]), vals[:hi]), true
	}
	return false, true
}

// sameVals reports whether two readings found the same raw values.
func sameVals(a, b []rawValue) bool {
	return slices.EqualFunc(a, b, func(x, y rawValue) bool {
		return x.kind == y.kind && string(x.b) == string(y.b)
	})
}

// tailKeys turns a '|'-separated list into sorted, distinct plain keys,
// as Engine.indexKeys keeps them.
func tailKeys(list string) []string {
	var keys []string
	for _, k := range strings.Split(list, "|") {
		if k != "" && plainKeyName(k) && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestScanTail: reading "fields" from its end finds exactly what the
// forward reader finds, for members of every kind at the end (strings
// with escaped quotes and backslashes, nested objects and arrays),
// wanted keys at both ends, raw bytes after "fields" and absent keys;
// and leaves to the forward reader what it must not read itself.
func TestScanTail(t *testing.T) {
	for _, tc := range []struct {
		name, event, keys string
		wantTail          bool // fieldsClose finds the end of "fields"
	}{
		{"last members", `{"class":"flow","fields":{"a":1,"b":2,"s.bytes":3,"s.packets":4}}`, "s.bytes|s.packets", true},
		{"first and last members", `{"fields":{"a":1,"b":"x","c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"z":9}}`, "a|z", true},
		{"every member", `{"fields":{"a":1,"b":"x","c":true,"d":null}}`, "a|b|c|d", true},
		{"absent keys between and around", `{"fields":{"b":1,"d":2,"f":3}}`, "a|c|d|e|g", true},
		{"no wanted key at the end", `{"fields":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}}`, "a|b", true},
		{"strings with escapes at the end", `{"fields":{"a":1,"q":"x\"y","r":"\\","s":"\\\"","t":"\"\\\\\""}}`, "a|q|r|s|t", true},
		{"nested values at the end", `{"fields":{"a":1,"n":{"k":"}","l":[1,{"m":"]"}]},"o":[["\""],{}],"p":{}}}`, "a|n|o|p", true},
		{"a key with an escape at the end", `{"fields":{"a":1,"z\"":2}}`, "a", true},
		{"a key with an escape among the wanted", `{"fields":{"a":1,"b\"":2,"c":3}}`, "a|c", true},
		{"raw after fields", `{"fields":{"a":1,"b":2},"raw":"AAECAwQ="}`, "b", true},
		{"empty raw after fields", `{"fields":{"a":1,"b":2},"raw":""}`, "b", true},
		{"labels after fields", `{"fields":{"a":1,"b":2},"labels":{"b":"x"}}`, "b", false},
		{"no fields", `{"class":"flow","raw":"AAAA"}`, "a", false},
		{"a prefix of the wanted key", `{"fields":{"s.bytes":1,"s.bytesx":2,"s.byte":3}}`, "s.bytes", true},
		{"header strings that look like fields", `{"host":"},\"raw\":null}","fields":{"a":"},\"raw\":null","b":2}}`, "a|b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, c, ok := canonicalPair(t, []byte(tc.event))
			if !ok {
				t.Fatalf("test event does not decode: %s", tc.event)
			}
			keys := tailKeys(tc.keys)
			want := make([]rawValue, len(keys))
			wantOK := forwardFields(c, keys, want)
			got := make([]rawValue, len(keys))
			gotOK, tail := tailFields(c, &ev, keys, got)
			if tail != tc.wantTail {
				t.Errorf("fieldsClose(%s) found the end: got %v, want %v", c, tail, tc.wantTail)
			}
			if gotOK && wantOK && !sameVals(got, want) {
				t.Errorf("%s, keys %q:\ngot  %v\nwant %v", c, keys, got, want)
			}
			if gotOK != wantOK && !strings.Contains(tc.name, "escape") {
				t.Errorf("%s: read %v, forward reader %v", c, gotOK, wantOK)
			}
		})
	}
}

// FuzzScanTail compares the two readers of "fields" (new: from the end
// first; old: forward only) on the canonical bytes of any event and any
// wanted keys: whenever both read the event, they find the same values.
// (When the backward reader refuses an event, a key with an escape, the
// engine reads the decoded event, which FuzzExtractCanonical checks.)
func FuzzScanTail(f *testing.F) {
	f.Add([]byte(`{"class":"flow","fields":{"a":1,"b":2,"s.bytes":3,"s.packets":4}}`), "s.bytes|s.packets")
	f.Add([]byte(`{"fields":{"a":1,"q":"x\"y","r":"\\","n":{"k":"}","l":[1,{"m":"]"}]}},"raw":"AAEC"}`), "a|n|q|r")
	f.Add([]byte(`{"fields":{"a":1,"b":2},"labels":{"b":"x"}}`), "b")
	f.Add([]byte(`{"fields":{"a":1,"b":"x","c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"z":9}}`), "a|z|zz|0")
	f.Add([]byte(`{"host":"},\"raw\":null}","fields":{"a":"},\"raw\":null","b\\":2,"c":[]}}`), "a|c")
	f.Fuzz(func(t *testing.T, text []byte, list string) {
		keys := tailKeys(list)
		ev, c, ok := canonicalPair(t, text)
		got := make([]rawValue, len(keys))
		tailFields(text, &ev, keys, got) // not its canonical bytes: no panic
		if !ok {
			return
		}
		want := make([]rawValue, len(keys))
		wantOK := forwardFields(c, keys, want)
		gotOK, _ := tailFields(c, &ev, keys, got)
		if gotOK && wantOK && !sameVals(got, want) {
			t.Errorf("%s, keys %q:\ngot  %v\nwant %v", c, keys, got, want)
		}
	})
}

// TestTailHint: an engine whose events have no wanted member at their
// end stops reading their end first, and starts again once they do;
// the vectors are the same either way.
func TestTailHint(t *testing.T) {
	e, err := Compile(Spec{Features: []Feature{{Name: "z", Kind: KindNumeric, Field: "z"}}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(event string) []float32 {
		t.Helper()
		ev, c, ok := canonicalPair(t, []byte(event))
		if !ok {
			t.Fatalf("test event does not decode: %s", event)
		}
		ev.Seq = 1 // not a retry of the tail (see tryTail) unless the length says so
		if got := len(c) % 32; got == 1 {
			t.Fatalf("test event %s is chosen for a retry", c)
		}
		dst := make([]float32, 1)
		e.ExtractCanonical(&ev, c, dst)
		return dst
	}
	if got := read(`{"fields":{"a":1,"b":2,"c":3,"d":4,"e":5,"z":7}}`); got[0] != 7 || e.tailMiss.Load() {
		t.Fatalf("z at the end: got %v, tailMiss %v; want [7], false", got, e.tailMiss.Load())
	}
	if got := read(`{"fields":{"z":8,"za":1,"zb":2,"zc":3,"zd":4,"ze":5}}`); got[0] != 8 || !e.tailMiss.Load() {
		t.Fatalf("z at the start: got %v, tailMiss %v; want [8], true", got, e.tailMiss.Load())
	}
	if got := read(`{"fields":{"a":1,"b":2,"c":3,"d":4,"e":5,"z":9}}`); got[0] != 9 || !e.tailMiss.Load() {
		t.Fatalf("after a miss the end is not read first: got %v, tailMiss %v; want [9], true", got, e.tailMiss.Load())
	}
}

// TestLog1pTable: the table gives math.Log1p's bits, and finish reads
// it only for the integers it holds.
func TestLog1pTable(t *testing.T) {
	c := compiled{ops: []op{{code: opLog1p}}, log1pOnly: true}
	loop := compiled{ops: []op{{code: opLog1p}}} // finish's loop over the transforms
	direct := func(v float64) float32 {
		if v < 0 {
			v = -math.Log1p(-v)
		} else {
			v = math.Log1p(v)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return float32(v)
	}
	var vs []float64
	for i := -2; i < 2*log1pInts; i++ {
		vs = append(vs, float64(i), float64(i)+0.5, math.Nextafter(float64(i), math.Inf(1)))
	}
	vs = append(vs, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e300, -1e-300)
	for _, v := range vs {
		want := direct(v)
		for _, c := range []compiled{c, loop} {
			if got := c.finish(v); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("finish(log1p, only %v)(%v) = %v, want %v", c.log1pOnly, v, got, want)
			}
		}
	}
}
