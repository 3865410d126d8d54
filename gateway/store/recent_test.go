package store

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// recentTestEvents are events of every shape the cache must handle: kept
// (decoder types only) and not kept (other types, invalid UTF-8, typed
// nils), so a range mixes both.
func recentTestEvents() []gateway.Event {
	evs := testEvents(0, 4, 100)
	evs[0].Fields["dst_port"] = json.Number("22") // as the ingest decoders give it
	evs[1].Fields = map[string]any{"n": json.Number("1.25e-3"), "s": "x<y", "b": true, "z": nil,
		"nested": map[string]any{"a": []any{json.Number("1"), "two", map[string]any{}}}, "empty": []any{}}
	evs[1].Labels = map[string]string{}
	evs[1].Time = time.Date(2026, 12, 5, 6, 7, 8, 9, time.FixedZone("x", 7200))
	evs[2].Fields = map[string]any{"port": 22, "f": 0.5}                    // ints and floats decode as json.Number
	evs[3].Fields = map[string]any{"bad": "\xff", "m": map[string]any(nil)} // rewritten by the encoder
	evs = append(evs, gateway.Event{ID: "", Source: "s", Sourcetype: "t", Raw: []byte{}, Time: time.Unix(5, 0), Received: time.Unix(6, 0)})
	return evs
}

// TestRecentLeavesEqualTheSegmentFiles: a range served from memory equals,
// leaf for leaf, the same range read from the segment files; a range with
// an event that could not be kept is read from the files.
func TestRecentLeavesEqualTheSegmentFiles(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithRecentLeaves(16))
	defer s.Close()
	evs := recentTestEvents()
	mustAppend(t, s.Store, evs)
	n := uint64(len(evs))

	tests := []struct {
		name       string
		from, to   uint64
		fromMemory bool
	}{
		{"kept events only", 0, 2, true},
		{"one kept", 4, 5, true},
		{"a range with events not kept", 0, n, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := make([]gateway.Leaf, tt.to-tt.from)
			if got := s.recent.leaves(tt.from, mem); got != tt.fromMemory {
				t.Fatalf("served from memory = %v, want %v", got, tt.fromMemory)
			}
			got, err := s.Leaves(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]gateway.Leaf, 0, tt.to-tt.from)
			err = s.log.readRange(tt.from, tt.to, func(r record) error {
				e, err := decodeLeaf(r.leaf, r.seq)
				want = append(want, gateway.Leaf{Event: e, Canonical: bytes.Clone(r.leaf), LeafHash: r.hash})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Leaves(%d, %d) =\n%#v\nsegment files\n%#v", tt.from, tt.to, got, want)
			}
		})
	}

	// Once overwritten by later appends, a seq is read from the files.
	mustAppend(t, s.Store, testEvents(100, 16, 100))
	if s.recent.leaves(0, make([]gateway.Leaf, 1)) {
		t.Error("seq 0 still served from memory after 16 more appends into 16 slots")
	}
	if _, err := s.Leaves(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
}

// FuzzCacheForm: whenever cacheForm keeps an event, the value kept is
// exactly what decoding its canonical bytes gives.
func FuzzCacheForm(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1.5,"x",{"c":null,"d":{}}],"e":"\u2028"}`), "host", "raw", true)
	f.Add([]byte(`{"a":"\xff"}`), "", "", false)
	f.Fuzz(func(t *testing.T, fields []byte, host, raw string, useNumber bool) {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(fields))
		if useNumber {
			d.UseNumber()
		}
		if d.Decode(&m) != nil {
			m = nil
		}
		e := gateway.Event{ID: host, Seq: 3, Source: raw, Sourcetype: host, Host: host, Class: gateway.Class(raw), Fields: m,
			Raw: []byte(raw), Labels: map[string]string{host: raw}, Time: time.Unix(int64(len(raw)), 7).In(time.FixedZone("z", 60)), Received: time.Unix(9, 0)}
		kept, ok := cacheForm(e)
		if !ok {
			return
		}
		c, err := e.Canonical()
		if err != nil {
			return
		}
		want, err := decodeLeaf(c, 3)
		if err != nil {
			t.Fatalf("decodeLeaf: %v", err)
		}
		if !reflect.DeepEqual(kept, want) {
			t.Fatalf("kept %#v\ndecoded %#v", kept, want)
		}
	})
}
