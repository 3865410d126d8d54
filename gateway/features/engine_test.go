package features

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func ev(fields map[string]any) gateway.Event {
	return gateway.Event{Class: gateway.ClassFlow, Fields: fields}
}

func approx(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			return false
		}
	}
	return true
}

func extract(t *testing.T, spec Spec, events ...gateway.Event) [][]float32 {
	t.Helper()
	e, err := Compile(spec)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var out [][]float32
	for i := range events {
		v := make([]float32, e.Width())
		e.Extract(&events[i], v)
		out = append(out, v)
	}
	return out
}

// Golden vectors, one table entry per feature kind and transform.
func TestExtractGolden(t *testing.T) {
	tests := []struct {
		name  string
		feat  Feature
		event gateway.Event
		want  []float32
	}{
		{"numeric float", Feature{Name: "b", Kind: KindNumeric, Field: "kdd.src_bytes"}, ev(map[string]any{"kdd.src_bytes": 491.0}), []float32{491}},
		{"numeric int64", Feature{Name: "p", Kind: KindNumeric, Field: "destination.port"}, ev(map[string]any{"destination.port": int64(22)}), []float32{22}},
		{"numeric json.Number", Feature{Name: "p", Kind: KindNumeric, Field: "x"}, ev(map[string]any{"x": json.Number("2.5")}), []float32{2.5}},
		{"numeric string", Feature{Name: "p", Kind: KindNumeric, Field: "x"}, ev(map[string]any{"x": " 7 "}), []float32{7}},
		{"numeric bool", Feature{Name: "p", Kind: KindNumeric, Field: "x"}, ev(map[string]any{"x": true}), []float32{1}},
		{"numeric missing default", Feature{Name: "p", Kind: KindNumeric, Field: "x", Default: -1}, ev(nil), []float32{-1}},
		{"numeric unparsable default", Feature{Name: "p", Kind: KindNumeric, Field: "x", Default: 3}, ev(map[string]any{"x": "abc"}), []float32{3}},
		{"log1p", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "log1p"}}}, ev(map[string]any{"x": math.E - 1}), []float32{1}},
		{"log1p negative keeps sign", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "log1p"}}}, ev(map[string]any{"x": -(math.E - 1)}), []float32{-1}},
		{"clip", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "clip", Min: 0, Max: 10}}}, ev(map[string]any{"x": 99.0}), []float32{10}},
		{"scale", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "scale", Offset: 1, Factor: 0.5}}}, ev(map[string]any{"x": 5.0}), []float32{2}},
		{"standardize", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "standardize", Mean: 10, Std: 2}}}, ev(map[string]any{"x": 14.0}), []float32{2}},
		{"standardize zero std", Feature{Name: "b", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "standardize", Mean: 1}}}, ev(map[string]any{"x": 4.0}), []float32{3}},
		{"non-finite becomes 0", Feature{Name: "b", Kind: KindNumeric, Field: "x"}, ev(map[string]any{"x": math.Inf(1)}), []float32{0}},
		{"onehot hit", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"icmp", "tcp", "udp"}}, ev(map[string]any{"p": "tcp"}), []float32{0, 1, 0}},
		{"onehot miss", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"icmp", "tcp"}}, ev(map[string]any{"p": "gre"}), []float32{0, 0}},
		{"onehot other", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"icmp", "tcp"}, Other: true}, ev(map[string]any{"p": "gre"}), []float32{0, 0, 1}},
		{"onehot lower", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"TCP", "udp"}, Lower: true}, ev(map[string]any{"p": "Udp"}), []float32{0, 1}},
		{"onehot number value", Feature{Name: "port", Kind: KindCategorical, Field: "p", Vocab: []string{"22", "80"}}, ev(map[string]any{"p": int64(80)}), []float32{0, 1}},
		{"index hit", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"icmp", "tcp"}, Encoding: "index"}, ev(map[string]any{"p": "tcp"}), []float32{1}},
		{"index miss", Feature{Name: "proto", Kind: KindCategorical, Field: "p", Vocab: []string{"icmp", "tcp"}, Encoding: "index"}, ev(nil), []float32{2}},
		{"class pseudo-field", Feature{Name: "c", Kind: KindCategorical, Field: "@class", Vocab: []string{"dns", "flow"}}, ev(nil), []float32{0, 1}},
		{"equals", Feature{Name: "fail", Kind: KindEquals, Field: "event.outcome", Value: "failure"}, ev(map[string]any{"event.outcome": "failure"}), []float32{1}},
		{"equals bool", Feature{Name: "inv", Kind: KindEquals, Field: "x", Value: "true"}, ev(map[string]any{"x": true}), []float32{1}},
		{"lexical full", Feature{Name: "d", Kind: KindLexical, Field: "q", Stats: []string{"length", "labels", "digit_ratio", "special_ratio"}}, ev(map[string]any{"q": "A1.example.COM."}), []float32{14, 3, 1.0 / 14, 2.0 / 14}},
		{"lexical sld", Feature{Name: "d", Kind: KindLexical, Field: "q", Part: "sld", Stats: []string{"length", "entropy", "vowel_ratio", "consonant_ratio", "hex_ratio", "unique_ratio"}},
			ev(map[string]any{"q": "www.google.co.uk"}), []float32{6, 1.9182958, 0.5, 0.5, 1.0 / 6, 4.0 / 6}},
		{"lexical runs", Feature{Name: "d", Kind: KindLexical, Field: "q", Stats: []string{"max_consonant_run", "max_digit_run", "switch_ratio"}}, ev(map[string]any{"q": "xkcdq123a4"}), []float32{5, 3, 3.0 / 9}},
		{"lexical bigrams", Feature{Name: "d", Kind: KindLexical, Field: "q", Stats: []string{"bigram_common_ratio", "bigram_unique_ratio"}}, ev(map[string]any{"q": "thethe"}), []float32{1, 3.0 / 5}},
		{"lexical empty", Feature{Name: "d", Kind: KindLexical, Field: "q", Stats: []string{"length", "entropy", "digit_ratio", "bigram_common_ratio", "labels"}}, ev(nil), []float32{0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := extract(t, Spec{Features: []Feature{tt.feat}}, tt.event)[0]
			if !approx(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRegistrableLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"www.google.com", "google"},
		{"mail.google.co.uk.", "google"},
		{"Example.ORG", "example"},
		{"southboroughlib", "southboroughlib"},
		{"co.uk", "co"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RegistrableLabel(tt.in); got != tt.want {
			t.Errorf("RegistrableLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func authEv(at time.Duration, src, user, outcome string) gateway.Event {
	return gateway.Event{
		Class: gateway.ClassAuth,
		Time:  time.Unix(1_700_000_000, 0).Add(at),
		Fields: map[string]any{
			"source.ip": src, "user.name": user, "event.outcome": outcome,
		},
	}
}

// Window aggregates over a brute-force-then-spray sequence, including
// eviction once events fall out of the window.
func TestWindowGolden(t *testing.T) {
	spec := Spec{
		Windows: []WindowSpec{
			{Name: "fail", Key: []string{"source.ip"}, Size: Duration(time.Minute), Filter: map[string]string{"event.outcome": "failure"}, Distinct: "user.name"},
			{Name: "pair", Key: []string{"source.ip", "+user.name"}, Size: Duration(time.Minute)},
		},
		Features: []Feature{
			{Name: "n", Kind: KindWindow, Window: "fail", Agg: "count"},
			{Name: "users", Kind: KindWindow, Window: "fail", Agg: "distinct"},
			{Name: "rate", Kind: KindWindow, Window: "fail", Agg: "rate"},
			{Name: "ratio", Kind: KindWindow, Window: "fail", Agg: "matched_ratio"},
			{Name: "pair", Kind: KindWindow, Window: "pair", Agg: "count"},
		},
	}
	events := []gateway.Event{
		authEv(0, "10.0.0.1", "root", "failure"),
		authEv(10*time.Second, "10.0.0.1", "root", "failure"),
		authEv(20*time.Second, "10.0.0.1", "admin", "failure"),
		authEv(30*time.Second, "10.0.0.2", "alice", "success"),
		authEv(40*time.Second, "10.0.0.1", "alice", "success"),
		authEv(65*time.Second, "10.0.0.1", "bob", "failure"),          // the 0s failure is evicted (window is (t-1m, t])
		{Class: gateway.ClassAuth, Time: time.Unix(1_700_000_070, 0)}, // no key
	}
	want := [][]float32{
		{1, 1, 1.0 / 60, 1, 1},
		{2, 1, 2.0 / 60, 1, 2},
		{3, 2, 3.0 / 60, 1, 1},
		{0, 0, 0, 0, 1},
		{3, 2, 3.0 / 60, 0.75, 1},
		{3, 3, 3.0 / 60, 0.75, 1},
		{0, 0, 0, 0, 0},
	}
	got := extract(t, spec, events...)
	for i := range want {
		if !approx(got[i], want[i]) {
			t.Errorf("event %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestWindowBounded(t *testing.T) {
	spec := Spec{
		Windows:  []WindowSpec{{Name: "w", Key: []string{"source.ip"}, Size: Duration(time.Hour), MaxKeys: 4, MaxEvents: 3}},
		Features: []Feature{{Name: "n", Kind: KindWindow, Window: "w", Agg: "count"}},
	}
	e, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, 1)
	for i := range 100 {
		x := authEv(time.Duration(i)*time.Second, "10.0.0."+string(rune('a'+i%10)), "u", "failure")
		e.Extract(&x, v)
	}
	w := e.windows[0]
	if got := len(w.keys); got > 4 {
		t.Errorf("keys = %d, want <= 4", got)
	}
	for k, ks := range w.keys {
		if n := len(ks.entries) - ks.head; n > 3 {
			t.Errorf("key %q holds %d events, want <= 3", k, n)
		}
	}
	// Saturation: a key seen many times reports at most MaxEvents.
	for i := range 10 {
		x := authEv(time.Duration(200+i)*time.Second, "10.9.9.9", "u", "failure")
		e.Extract(&x, v)
	}
	if v[0] != 3 {
		t.Errorf("saturated count = %v, want 3", v[0])
	}
	e.Reset()
	x := authEv(time.Hour, "10.9.9.9", "u", "failure")
	e.Extract(&x, v)
	if v[0] != 1 {
		t.Errorf("after Reset count = %v, want 1", v[0])
	}
}

func TestCompileErrors(t *testing.T) {
	win := []WindowSpec{{Name: "w", Key: []string{"a"}, Size: Duration(time.Second)}}
	tests := []struct {
		name string
		spec Spec
	}{
		{"empty", Spec{}},
		{"no name", Spec{Features: []Feature{{Kind: KindNumeric, Field: "x"}}}},
		{"duplicate", Spec{Features: []Feature{{Name: "a", Kind: KindNumeric, Field: "x"}, {Name: "a", Kind: KindNumeric, Field: "y"}}}},
		{"unknown kind", Spec{Features: []Feature{{Name: "a", Kind: "magic", Field: "x"}}}},
		{"numeric no field", Spec{Features: []Feature{{Name: "a", Kind: KindNumeric}}}},
		{"categorical no vocab", Spec{Features: []Feature{{Name: "a", Kind: KindCategorical, Field: "x"}}}},
		{"categorical dup vocab", Spec{Features: []Feature{{Name: "a", Kind: KindCategorical, Field: "x", Vocab: []string{"a", "a"}}}}},
		{"categorical bad encoding", Spec{Features: []Feature{{Name: "a", Kind: KindCategorical, Field: "x", Vocab: []string{"a"}, Encoding: "hash"}}}},
		{"lexical unknown stat", Spec{Features: []Feature{{Name: "a", Kind: KindLexical, Field: "x", Stats: []string{"vibes"}}}}},
		{"lexical bad part", Spec{Features: []Feature{{Name: "a", Kind: KindLexical, Field: "x", Stats: []string{"length"}, Part: "tld"}}}},
		{"window unknown", Spec{Features: []Feature{{Name: "a", Kind: KindWindow, Window: "nope", Agg: "count"}}}},
		{"window bad agg", Spec{Windows: win, Features: []Feature{{Name: "a", Kind: KindWindow, Window: "w", Agg: "median"}}}},
		{"window distinct without field", Spec{Windows: win, Features: []Feature{{Name: "a", Kind: KindWindow, Window: "w", Agg: "distinct"}}}},
		{"window zero size", Spec{Windows: []WindowSpec{{Name: "w", Key: []string{"a"}}}, Features: []Feature{{Name: "a", Kind: KindNumeric, Field: "x"}}}},
		{"window concat first", Spec{Windows: []WindowSpec{{Name: "w", Key: []string{"+a"}, Size: Duration(time.Second)}}, Features: []Feature{{Name: "a", Kind: KindNumeric, Field: "x"}}}},
		{"bad transform", Spec{Features: []Feature{{Name: "a", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "sqrt"}}}}}},
		{"clip inverted", Spec{Features: []Feature{{Name: "a", Kind: KindNumeric, Field: "x", Transforms: []Transform{{Op: "clip", Min: 2, Max: 1}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) {
				t.Fatalf("Compile err = %v, want *SpecError wrapping ErrSpec", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	e, err := Compile(Spec{Features: []Feature{
		{Name: "p", Kind: KindCategorical, Field: "x", Vocab: []string{"a", "b"}, Other: true},
		{Name: "d", Kind: KindLexical, Field: "q", Stats: []string{"length", "entropy"}},
		{Name: "n", Kind: KindNumeric, Field: "y"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(e.Names(), ",")
	want := "p.a,p.b,p.other,d.length,d.entropy,n"
	if got != want {
		t.Errorf("Names = %s, want %s", got, want)
	}
}

func TestReadRowsCSV(t *testing.T) {
	m := Mapping{Format: "csv", Class: gateway.ClassFlow, Columns: []string{"duration", "protocol_type", "label", "difficulty"},
		Prefix: "kdd.", LabelColumn: "label", Skip: []string{"difficulty"},
		LabelMap: map[string]string{"normal": "normal"}, LabelDefault: "attack", GroupMap: map[string]string{"neptune": "DoS"}}
	in := "0,tcp,normal,21\n2,udp,neptune,15\n"
	var rows []Row
	err := ReadRows(context.Background(), strings.NewReader(in), "t.csv", m, "", nil, func(r Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %d, want 2", len(rows))
	}
	r := rows[1]
	if r.Label != "attack" || r.RawLabel != "neptune" || r.Group != "DoS" || r.Event.Class != gateway.ClassFlow {
		t.Errorf("row = %+v", r)
	}
	if got, want := r.Event.Fields["kdd.duration"], 2.0; got != want {
		t.Errorf("kdd.duration = %v, want %v", got, want)
	}
	if _, ok := r.Event.Fields["kdd.difficulty"]; ok {
		t.Error("skipped column present")
	}
	if _, ok := r.Event.Fields["kdd.label"]; ok {
		t.Error("label column present as a field")
	}
	if got := m.FieldName("Flow Bytes/s"); got != "kdd.flow_bytes_s" {
		t.Errorf("FieldName = %q", got)
	}
}

func TestReadRowsErrors(t *testing.T) {
	tests := []struct {
		name string
		m    Mapping
		in   string
	}{
		{"unknown format", Mapping{Format: "xml"}, ""},
		{"no columns", Mapping{Format: "csv"}, "a,b\n"},
		{"ragged", Mapping{Format: "csv", Columns: []string{"a", "b"}}, "1,2\n3\n"},
		{"log without decoder", Mapping{Format: "log"}, "x\n"},
		{"missing label column", Mapping{Format: "csv", Header: true, LabelColumn: "y"}, "a\n1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReadRows(context.Background(), strings.NewReader(tt.in), "f", tt.m, "", nil, func(Row) error { return nil })
			if !errors.Is(err, ErrDataset) {
				t.Fatalf("err = %v, want ErrDataset", err)
			}
		})
	}
}

func TestLabelRuleAndSelect(t *testing.T) {
	// Source .1 fails 3 times (>= MinCount): all its events are attacks,
	// including the later success; .2 fails once.
	var lines []string
	for _, l := range []string{"1 f", "2 f", "1 f", "1 s", "1 f"} {
		lines = append(lines, l)
	}
	decode := func(line []byte) (gateway.Event, bool) {
		src, out, _ := strings.Cut(string(line), " ")
		o := map[string]string{"f": "failure", "s": "success"}[out]
		return gateway.Event{Class: gateway.ClassAuth, Fields: map[string]any{"source.ip": src, "event.outcome": o}}, true
	}
	m := Mapping{Format: "log", LabelRule: &LabelRule{Key: []string{"source.ip"}, Filter: map[string]string{"event.outcome": "failure"}, MinCount: 3, Label: "bf", Else: "ok"}}
	var got []string
	err := ReadRows(context.Background(), strings.NewReader(strings.Join(lines, "\n")), "f", m, "", decode, func(r Row) error {
		got = append(got, r.Label)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "bf,ok,bf,bf,bf"; strings.Join(got, ",") != want {
		t.Errorf("labels = %v, want %s", got, want)
	}

	rows := make([]held, 10)
	for i := range rows {
		rows[i] = held{row: Row{Index: i, RawLabel: []string{"a", "b"}[i%2], Event: gateway.Event{Fields: map[string]any{"t": float64(10 - i)}}}}
	}
	sel := applySelect(append([]held(nil), rows...), &Select{OrderBy: "t", From: 0, To: 0.4, PerGroup: true})
	var idx []int
	for _, h := range sel {
		idx = append(idx, h.row.Index)
	}
	// Ordered by t ascending = index descending; first 40% of each group.
	if want := []int{9, 8, 7, 6}; len(idx) != 4 || idx[0] != want[0] || idx[1] != want[1] || idx[2] != want[2] || idx[3] != want[3] {
		t.Errorf("selected %v, want %v", idx, want)
	}
}

func TestLabelFilter(t *testing.T) {
	tests := []struct {
		list []string
		raw  string
		want bool
	}{
		{nil, "x", true},
		{[]string{"0"}, "0", true},
		{[]string{"0"}, "1", false},
		{[]string{"!zeus"}, "zeus", false},
		{[]string{"!zeus"}, "tinba", true},
	}
	for _, tt := range tests {
		if got := labelFilter(tt.list)(tt.raw); got != tt.want {
			t.Errorf("labelFilter(%v)(%q) = %v, want %v", tt.list, tt.raw, got, tt.want)
		}
	}
}

func FuzzLexical(f *testing.F) {
	for _, s := range []string{"", "google.com", "xn--bcher-kva.example", "1sbh3891b5qfxt3dszss1grf20g.biz", "..", "\xff\xfe"} {
		f.Add(s)
	}
	e, err := Compile(Spec{Features: []Feature{
		{Name: "full", Kind: KindLexical, Field: "q", Stats: LexicalStats},
		{Name: "sld", Kind: KindLexical, Field: "q", Part: "sld", Stats: LexicalStats},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := make([]float32, e.Width())
		x := gateway.Event{Fields: map[string]any{"q": s}}
		e.Extract(&x, v)
		for i, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || f < 0 {
				t.Fatalf("column %s = %v for %q", e.Names()[i], f, s)
			}
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add("0,tcp,normal\n")
	f.Add("\"a,b\",1,x\n")
	f.Add(",,\n1,2\n")
	m := Mapping{Format: "csv", Columns: []string{"a", "b", "label"}, LabelColumn: "label", Prefix: "k."}
	f.Fuzz(func(t *testing.T, in string) {
		_ = ReadRows(context.Background(), strings.NewReader(in), "f", m, "", nil, func(r Row) error {
			if r.Event.Fields == nil {
				t.Fatal("nil fields")
			}
			return nil
		})
	})
}
