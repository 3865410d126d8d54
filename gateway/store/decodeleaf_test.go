package store

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestDecodeLeafMatchesStd: the fast decoder returns what encoding/json
// returns for canonical leaves of every value shape ingest produces.
func TestDecodeLeafMatchesStd(t *testing.T) {
	base := gateway.Event{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Seq: 9,
		Received: time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC), Time: time.Date(2026, 12, 5, 3, 4, 5, 0, time.UTC),
		Source: "s", Sourcetype: "nsl-kdd", Class: gateway.ClassFlow, Raw: []byte("a,b,c")}
	with := func(f func(e *gateway.Event)) gateway.Event {
		e := base
		f(&e)
		return e
	}
	tests := []struct {
		name string
		ev   gateway.Event
	}{
		{"minimal", base},
		{"nil raw", with(func(e *gateway.Event) { e.Raw = nil })},
		{"labels host index", with(func(e *gateway.Event) { e.Host, e.Index, e.Labels = "h<1>", "i", map[string]string{"a": "é\u2028"} })},
		{"fields", with(func(e *gateway.Event) {
			e.Fields = map[string]any{"n": json.Number("1.5e-9"), "f": 0.25, "big": uint64(math.MaxUint64), "s": "x\ty\"z", "b": true, "nil": nil,
				"arr": []any{1.0, "a", map[string]any{"k": []any{}}}, "m": map[string]string{"q": "r"}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := tt.ev.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeLeaf(leaf, tt.ev.Seq)
			if err != nil {
				t.Fatalf("decodeLeaf: %v", err)
			}
			want, err := decodeLeafStd(leaf, tt.ev.Seq)
			if err != nil {
				t.Fatalf("decodeLeafStd: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decodeLeaf = %#v\nencoding/json %#v", got, want)
			}
			if again, _ := got.Canonical(); string(again) != string(leaf) {
				t.Errorf("re-encoded %s\nstored %s", again, leaf)
			}
		})
	}
	if _, err := decodeLeaf([]byte(`{"seq":1}`), 2); err == nil {
		t.Error("decodeLeaf accepted a leaf holding another seq")
	}
}

// FuzzDecodeLeaf: on any bytes, decodeLeaf succeeds exactly when
// encoding/json does, with the same event.
func FuzzDecodeLeaf(f *testing.F) {
	f.Add([]byte(`{"id":"x","seq":3,"received":"2026-12-05T03:04:05Z","time":"2026-12-05T03:04:05.5Z","source":"s","sourcetype":"t","class":"flow","fields":{"a":1,"b":[1,"x",{"c":null}]},"raw":"YWJj","labels":{"k":"v"}}`), uint64(3))
	f.Add([]byte(`{"seq":3} {"seq":3}`), uint64(3))
	f.Add([]byte(`{"seq":3,"raw":"!!"}`), uint64(3))
	f.Add([]byte("{\"seq\":0,\"source\":\"\xff\"}"), uint64(0))
	f.Fuzz(func(t *testing.T, leaf []byte, seq uint64) {
		got, gerr := decodeLeaf(leaf, seq)
		want, werr := decodeLeafStd(leaf, seq)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("decodeLeaf error %v, encoding/json error %v", gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeLeaf = %#v\nencoding/json %#v", got, want)
		}
	})
}
