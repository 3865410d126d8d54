package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// flowLeaf is the canonical leaf of a flow record shaped like an NSL-KDD
// row (41 numeric fields and an address).
func flowLeaf(t testing.TB, seq uint64) []byte {
	t.Helper()
	f := map[string]any{"source.ip": "10.0.0.1"}
	for i := range 41 {
		f[fmt.Sprintf("kdd.f%02d", i)] = json.Number(fmt.Sprint(i * 7))
	}
	e := gateway.Event{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Seq: seq,
		Received: time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC), Time: time.Date(2026, 12, 5, 3, 4, 5, 0, time.UTC),
		Source: "s", Sourcetype: "nsl-kdd", Class: gateway.ClassFlow, Fields: f}
	c, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecodeLeafSizedMatchesDecodeLeaf: whatever the hint, the sized
// decode returns what decodeLeaf returns, nil Fields included.
func TestDecodeLeafSizedMatchesDecodeLeaf(t *testing.T) {
	flow := flowLeaf(t, 9)
	tests := []struct {
		name string
		leaf string
		seq  uint64
		hint int
	}{
		{"flow, no hint", string(flow), 9, 0},
		{"flow, exact hint", string(flow), 9, 42},
		{"flow, small hint", string(flow), 9, 3},
		{"flow, huge hint", string(flow), 9, 1 << 20},
		{"no fields after a flow", `{"seq":9,"class":"auth"}`, 9, 42},
		{"null fields", `{"seq":9,"fields":null}`, 9, 42},
		{"empty fields", `{"seq":9,"fields":{}}`, 9, 42},
		{"fields twice", `{"seq":9,"fields":{"a":1},"fields":{"b":"x"}}`, 9, 42},
		{"another seq", string(flow), 8, 42},
		{"not json", `{"seq":9,"fields":{"a":}`, 9, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gerr := decodeLeafSized([]byte(tt.leaf), tt.seq, tt.hint)
			want, werr := decodeLeaf([]byte(tt.leaf), tt.seq)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("error %v, decodeLeaf's %v", gerr, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeLeafSized = %#v\ndecodeLeaf      %#v", got, want)
			}
		})
	}
}

// FuzzDecodeLeafSized: on any bytes, seq and hint, the sized decode
// succeeds exactly when encoding/json does, with the same event.
func FuzzDecodeLeafSized(f *testing.F) {
	f.Add([]byte(`{"id":"x","seq":3,"received":"2026-12-05T03:04:05Z","time":"2026-12-05T03:04:05.5Z","source":"s","sourcetype":"t","class":"flow","fields":{"a":1,"b":[1,"x",{"c":null}]},"raw":"YWJj","labels":{"k":"v"}}`), uint64(3), 2)
	f.Add([]byte(`{"seq":3,"fields":null}`), uint64(3), 40)
	f.Add([]byte(`{"seq":3,"fields":{}}`), uint64(3), 1)
	f.Add([]byte(`{"seq":3,"fields":{"a":1},"fields":{"a":2}}`), uint64(3), 5)
	f.Add([]byte(`{"seq":3,"fields":[1]}`), uint64(3), 5)
	f.Add([]byte(`{"seq":4,"fields":{"a":1}}`), uint64(3), 5)
	f.Fuzz(func(t *testing.T, leaf []byte, seq uint64, hint int) {
		got, gerr := decodeLeafSized(leaf, seq, hint)
		want, werr := decodeLeafStd(leaf, seq)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("decodeLeafSized error %v, encoding/json error %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeLeafSized = %#v\nencoding/json %#v", got, want)
		}
	})
}

// BenchmarkDecodeFlowLeaf compares decodeLeaf with the sized decode
// Leaves uses on a 42-field flow record (same run, so the ratio holds on
// a busy machine).
func BenchmarkDecodeFlowLeaf(b *testing.B) {
	leaf := flowLeaf(b, 9)
	for _, c := range []struct {
		name string
		hint int
	}{{"decodeLeaf", 0}, {"sized", 42}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeLeafSized(leaf, 9, c.hint); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
