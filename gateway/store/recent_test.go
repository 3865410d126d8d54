package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// recentTestEvents are events of many shapes: decoder types and others
// (ints, floats, invalid UTF-8, typed nils, which the encoder rewrites),
// an event with a non-UTC time and one without fields or id.
func recentTestEvents() []gateway.Event {
	evs := testEvents(0, 4, 100)
	evs[0].Fields["dst_port"] = json.Number("22") // as the ingest decoders give it
	evs[1].Fields = map[string]any{"n": json.Number("1.25e-3"), "s": "x<y", "b": true, "z": nil,
		"nested": map[string]any{"a": []any{json.Number("1"), "two", map[string]any{}}}, "empty": []any{}}
	evs[1].Labels = map[string]string{}
	evs[1].Time = time.Date(2026, 12, 5, 6, 7, 8, 9, time.FixedZone("x", 7200))
	evs[2].Fields = map[string]any{"port": 22, "f": 0.5}
	evs[3].Fields = map[string]any{"bad": "\xff", "m": map[string]any(nil)}
	evs = append(evs, gateway.Event{ID: "", Source: "s", Sourcetype: "t<", Raw: []byte{}, Time: time.Unix(5, 0), Received: time.Unix(6, 0)})
	return evs
}

// TestRecentLeavesEqualTheSegmentFiles: a range made from the records
// held in memory equals, leaf for leaf, the same range read from the
// segment files, through Leaves (decoded) and HeaderLeaves (partial, and
// whole once decoded); once overwritten, a seq is read from the files.
func TestRecentLeavesEqualTheSegmentFiles(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithRecentLeaves(16, 1<<20))
	defer s.Close()
	evs := recentTestEvents()
	mustAppend(t, s.Store, evs)
	n := uint64(len(evs))

	for _, tt := range []struct{ from, to uint64 }{{0, 2}, {4, 5}, {0, n}} {
		recs, ok := s.recent.records(tt.from, int(tt.to-tt.from))
		if !ok {
			t.Fatalf("records %d..%d not held", tt.from, tt.to)
		}
		var files []record
		err := s.log.readRange(tt.from, tt.to, func(r record) error {
			files = append(files, record{seq: r.seq, leaf: bytes.Clone(r.leaf), hash: r.hash})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if recs[i].seq != files[i].seq || !bytes.Equal(recs[i].leaf, files[i].leaf) || recs[i].hash != files[i].hash {
				t.Errorf("seq %d: held record %q, files %q", files[i].seq, recs[i].leaf, files[i].leaf)
			}
			if cap(recs[i].leaf) != len(recs[i].leaf) {
				t.Errorf("seq %d: held leaf bytes have spare capacity", files[i].seq)
			}
		}
		got, err := s.Leaves(ctx, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		headers, err := s.HeaderLeaves(ctx, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			want, err := decodeLeaf(files[i].leaf, files[i].seq)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[i].Event, want) || !bytes.Equal(got[i].Canonical, files[i].leaf) || got[i].LeafHash != files[i].hash {
				t.Errorf("Leaves seq %d = %#v\nfiles %#v", files[i].seq, got[i].Event, want)
			}
			full, err := headers[i].Full()
			if err != nil || !reflect.DeepEqual(full, want) || !bytes.Equal(headers[i].Canonical, files[i].leaf) {
				t.Errorf("HeaderLeaves seq %d: Full = %#v, %v\nfiles %#v", files[i].seq, full, err, want)
			}
			if headers[i].Partial() && !reflect.DeepEqual(headers[i].Event, headerOf(want)) {
				t.Errorf("HeaderLeaves seq %d: header %#v", files[i].seq, headers[i].Event)
			}
		}
	}

	mustAppend(t, s.Store, testEvents(100, 16, 100))
	if _, ok := s.recent.records(0, 1); ok {
		t.Error("seq 0 still held after 16 more appends into 16 slots")
	}
	if _, err := s.Leaves(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
}

// TestRecentLeavesByteBudget: the ring holds no more than its byte
// budget of canonical bytes; a record that would go over is read from the
// segment files instead (and reads the same), and once large records are
// overwritten small ones are held again.
func TestRecentLeavesByteBudget(t *testing.T) {
	ctx := context.Background()
	const budget = 64 << 10
	s := openTest(t, nil, WithRecentLeaves(16, budget))
	defer s.Close()
	now := time.Unix(1_700_000_000, 0).UTC()
	event := func(i, rawBytes int) gateway.Event {
		return gateway.Event{ID: fmt.Sprintf("%064x", i+1), Class: gateway.ClassOther, Source: "s", Sourcetype: "st",
			Raw: bytes.Repeat([]byte("A"), rawBytes), Time: now, Received: now}
	}
	var large []gateway.Event
	for i := range 8 {
		large = append(large, event(i, 16<<10))
	}
	mustAppend(t, s.Store, large)
	held := func() (n, bytes int) {
		s.recent.mu.RLock()
		defer s.recent.mu.RUnlock()
		for _, sl := range s.recent.slots {
			if sl.ok {
				n++
				bytes += len(sl.canon)
			}
		}
		if bytes != s.recent.held {
			t.Errorf("held counter %d, slots hold %d bytes", s.recent.held, bytes)
		}
		return n, bytes
	}
	n, b := held()
	if b > budget || n == 0 || n == len(large) {
		t.Fatalf("after 8 records of ~21 KiB: %d held, %d bytes, want some but not all, at most %d bytes", n, b, budget)
	}
	if _, ok := s.recent.records(0, len(large)); ok {
		t.Fatal("a range with records over the budget was served from memory")
	}
	got, err := s.Leaves(ctx, 0, uint64(len(large)))
	if err != nil || len(got) != len(large) {
		t.Fatalf("Leaves over the budget: %d leaves, %v", len(got), err)
	}
	for i := range got {
		if !bytes.Equal(got[i].Event.Raw, large[i].Raw) {
			t.Fatalf("seq %d read back wrong", i)
		}
	}

	var small []gateway.Event
	for i := range 16 {
		small = append(small, event(100+i, 100))
	}
	mustAppend(t, s.Store, small)
	if n, b := held(); n != 16 || b > budget {
		t.Fatalf("after 16 small records: %d held (%d bytes), want all 16", n, b)
	}
	from := uint64(len(large))
	if _, ok := s.recent.records(from, len(small)); !ok {
		t.Fatal("the small records are not served from memory")
	}
}

// TestRecentLeavesManyChunks: a range of several of each's chunks (and
// a part of one) made from memory equals the same range read from the
// segment files, leaf for leaf, through HeaderLeaves and Leaves; a range
// one of whose records is no longer held past its first chunk is read
// from the files whole, and equals them too.
func TestRecentLeavesManyChunks(t *testing.T) {
	ctx := context.Background()
	const n = 3*recentChunk + 17
	s := openTest(t, nil, WithRecentLeaves(2*n, 1<<24))
	defer s.Close()
	evs := testEvents(1000, n, 300) // ids apart from recentTestEvents'
	for i := range evs {
		if i%3 == 0 {
			evs[i].Time = evs[i].Received // ReadHeader's shared-time case
		}
	}
	mustAppend(t, s.Store, append(recentTestEvents(), evs...))
	size := uint64(n + len(recentTestEvents()))
	files := func(from, to uint64) []record {
		var out []record
		if err := s.log.readRange(from, to, func(r record) error {
			out = append(out, record{seq: r.seq, leaf: bytes.Clone(r.leaf), hash: r.hash})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(from, to uint64, wantHeld bool) {
		t.Helper()
		if _, held := s.recent.records(from, int(to-from)); held != wantHeld {
			t.Fatalf("%d..%d held = %v, want %v", from, to, held, wantHeld)
		}
		want := files(from, to)
		headers, err := s.HeaderLeaves(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := s.Leaves(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range want {
			ev, err := decodeLeaf(r.leaf, r.seq)
			if err != nil {
				t.Fatal(err)
			}
			full, err := headers[i].Full()
			if err != nil || !reflect.DeepEqual(full, ev) || !bytes.Equal(headers[i].Canonical, r.leaf) || headers[i].LeafHash != r.hash {
				t.Fatalf("HeaderLeaves seq %d differs from the files", r.seq)
			}
			if headers[i].Partial() && !reflect.DeepEqual(headers[i].Event, headerOf(ev)) {
				t.Fatalf("HeaderLeaves seq %d: header %#v, want %#v", r.seq, headers[i].Event, headerOf(ev))
			}
			if !reflect.DeepEqual(whole[i].Event, ev) || !bytes.Equal(whole[i].Canonical, r.leaf) || whole[i].LeafHash != r.hash {
				t.Fatalf("Leaves seq %d differs from the files", r.seq)
			}
		}
	}
	check(0, size, true)
	check(3, recentChunk+5, true)
	// Forget one record in the third chunk, as an overwrite would.
	gap := uint64(2*recentChunk + 9)
	s.recent.mu.Lock()
	s.recent.put(gap, "", nil, [32]byte{}, false)
	s.recent.mu.Unlock()
	check(0, size, false)
	check(0, gap, true)
}

// records returns the records recentLeaves.each hands out for [from,
// from+n), and whether every one was held.
func (c *recentLeaves) records(from uint64, n int) ([]record, bool) {
	var out []record
	ok := c.each(from, n, func(r record) bool {
		out = append(out, r)
		return true
	})
	return out, ok
}
