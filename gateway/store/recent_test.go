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

// TestRecentLeavesByteBudget: the ring holds whole groups within its
// byte budget, the latest ones: a group commit that does not fit drops
// the oldest groups, one over the budget alone is not held (its range
// reads the same from the segment files), and the groups after it are
// held again.
func TestRecentLeavesByteBudget(t *testing.T) {
	ctx := context.Background()
	const budget = 64 << 10
	s := openTest(t, nil, WithRecentLeaves(1<<10, budget))
	defer s.Close()
	now := time.Unix(1_700_000_000, 0).UTC()
	event := func(i, rawBytes int) gateway.Event {
		return gateway.Event{ID: fmt.Sprintf("%064x", i+1), Class: gateway.ClassOther, Source: "s", Sourcetype: "st",
			Raw: bytes.Repeat([]byte("A"), rawBytes), Time: now, Received: now}
	}
	held := func() (groups, n, b int) {
		s.recent.mu.RLock()
		defer s.recent.mu.RUnlock()
		for i, g := range s.recent.groups {
			if i > 0 && s.recent.groups[i-1].end() != g.first {
				t.Errorf("group %d starts at %d, after a group ending at %d", i, g.first, s.recent.groups[i-1].end())
			}
			n += len(g.starts)
			b += g.size()
		}
		if b != s.recent.held || n != s.recent.events {
			t.Errorf("held counters %d events, %d bytes; groups hold %d, %d", s.recent.events, s.recent.held, n, b)
		}
		if b > budget {
			t.Errorf("%d bytes held, budget %d", b, budget)
		}
		return len(s.recent.groups), n, b
	}
	// Small groups of 4 records of ~1.5 KiB (about 6 KiB each): the
	// budget holds some, the latest.
	seq := 0
	for range 20 {
		var evs []gateway.Event
		for range 4 {
			evs = append(evs, event(seq, 1<<10))
			seq++
		}
		mustAppend(t, s.Store, evs)
	}
	g, n, _ := held()
	if g == 0 || n == seq {
		t.Fatalf("after 20 groups: %d groups, %d records held, want some but not all", g, n)
	}
	if _, ok := s.recent.records(uint64(seq-n), n); !ok {
		t.Fatalf("the latest %d records are not served from memory", n)
	}
	if _, ok := s.recent.records(uint64(seq-n-1), 1); ok {
		t.Fatal("a dropped record is served from memory")
	}

	// One group over the budget alone: not held, and nothing older is.
	var large []gateway.Event
	for i := range 8 {
		large = append(large, event(1000+i, 16<<10))
	}
	mustAppend(t, s.Store, large)
	if g, n, _ := held(); g != 0 || n != 0 {
		t.Fatalf("after a group over the budget: %d groups, %d records held, want none", g, n)
	}
	got, err := s.Leaves(ctx, uint64(seq), uint64(seq+len(large)))
	if err != nil || len(got) != len(large) {
		t.Fatalf("Leaves over the budget: %d leaves, %v", len(got), err)
	}
	for i := range got {
		if !bytes.Equal(got[i].Event.Raw, large[i].Raw) {
			t.Fatalf("seq %d read back wrong", seq+i)
		}
	}
	seq += len(large)

	var small []gateway.Event
	for i := range 16 {
		small = append(small, event(2000+i, 100))
	}
	mustAppend(t, s.Store, small)
	if g, n, _ := held(); g != 1 || n != 16 {
		t.Fatalf("after 16 small records: %d groups, %d held, want 1, 16", g, n)
	}
	if _, ok := s.recent.records(uint64(seq), len(small)); !ok {
		t.Fatal("the small records are not served from memory")
	}
}

// TestRecentLeavesEventBudget: the ring holds no more than its count of
// records, dropping the oldest groups for a new one.
func TestRecentLeavesEventBudget(t *testing.T) {
	s := openTest(t, nil, WithRecentLeaves(10, 1<<20))
	defer s.Close()
	for i := range 5 {
		mustAppend(t, s.Store, testEvents(100*i, 3, 50))
	}
	// Groups of 3: the last three (9 records) fit in 10.
	if _, ok := s.recent.records(6, 9); !ok {
		t.Fatal("the last 9 records are not held")
	}
	if _, ok := s.recent.records(5, 1); ok {
		t.Fatal("seq 5 held: over the count")
	}
	mustAppend(t, s.Store, testEvents(900, 11, 50))
	if _, ok := s.recent.records(15, 11); ok || s.recent.events != 0 {
		t.Fatalf("a group of 11 held by a ring of 10 (%d records held)", s.recent.events)
	}
}

// TestRecentLeavesManyGroups: a range over several group commits (and a
// part of one) made from memory equals the same range read from the
// segment files, leaf for leaf, through HeaderLeaves and Leaves; a range
// whose first group is no longer held is read from the files whole, and
// equals them too; the leaves made from memory share the held frames
// (nothing is copied) and have no spare capacity.
func TestRecentLeavesManyGroups(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithRecentLeaves(1<<12, 1<<24))
	defer s.Close()
	evs := testEvents(1000, 200, 300) // ids apart from recentTestEvents'
	for i := range evs {
		if i%3 == 0 {
			evs[i].Time = evs[i].Received // ReadHeader's shared-time case
		}
	}
	evs = append(recentTestEvents(), evs...)
	for lo := 0; lo < len(evs); lo += 37 {
		mustAppend(t, s.Store, evs[lo:min(lo+37, len(evs))])
	}
	size := uint64(len(evs))
	if len(s.recent.groups) < 5 {
		t.Fatalf("%d groups held, want one per Append", len(s.recent.groups))
	}
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
		recs, held := s.recent.records(from, int(to-from))
		if held != wantHeld {
			t.Fatalf("%d..%d held = %v, want %v", from, to, held, wantHeld)
		}
		want := files(from, to)
		for i, r := range recs {
			if r.seq != want[i].seq || !bytes.Equal(r.leaf, want[i].leaf) || r.hash != want[i].hash || cap(r.leaf) != len(r.leaf) {
				t.Fatalf("held record %d differs from the files", want[i].seq)
			}
		}
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
	check(3, 3+37+5, true)
	check(40, 41, true)
	// The leaves are the held frames themselves.
	g := s.recent.groups[1]
	if recs, _ := s.recent.records(40, 2); &recs[1].leaf[0] != &g.frames[g.starts[41-g.first]+frameOverhead] {
		t.Error("a leaf made from memory does not point into its group's frames")
	}
	// Drop the first group, as a later group over the budget would.
	s.recent.mu.Lock()
	s.recent.drop(1)
	s.recent.mu.Unlock()
	check(0, size, false)
	check(36, 40, false)
	check(37, size, true)
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

// TestRecentLeavesWhileAppending: readers of the latest leaves, from
// memory while the appender publishes (and drops) groups beside them,
// get exactly the records the segment files hold (run with -race: the
// held frames are read without the ring's lock).
func TestRecentLeavesWhileAppending(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil, WithRecentLeaves(64, 1<<20))
	defer s.Close()
	const groups, per = 40, 8
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		for g := range groups {
			if _, err := s.Append(ctx, testEvents(g*per, per, 200)); err != nil {
				errs <- err
				return
			}
		}
	}()
	memory := 0
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		size := s.Size()
		if size < 16 {
			continue
		}
		from := size - 16
		got, err := s.HeaderLeaves(ctx, from, size)
		if err != nil {
			t.Fatal(err)
		}
		if _, held := s.recent.records(size-1, 1); held {
			memory++
		}
		for i, l := range got {
			r, err := s.log.read(from + uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(l.Canonical, r.leaf) || l.LeafHash != r.hash || l.Event.Seq != r.seq {
				t.Fatalf("seq %d: leaf differs from the files", r.seq)
			}
		}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if memory == 0 {
		t.Error("no read found its range held in memory")
	}
}
