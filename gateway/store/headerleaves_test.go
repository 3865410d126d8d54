package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// headerOf is ev with only its header: what a partial leaf's Event holds.
func headerOf(ev gateway.Event) gateway.Event {
	ev.Fields, ev.Raw, ev.Labels, ev.FieldsCanonical = nil, nil, nil, nil
	return ev
}

// oddEvents are events whose header strings take every path of
// ReadHeader: plain, escaped (refused: decoded whole), non-ASCII, empty
// host and index, labels, nil raw, no fields.
func oddEvents() []gateway.Event {
	t0 := time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC)
	base := gateway.Event{Received: t0, Time: t0.Add(-time.Hour), Source: "s", Sourcetype: "nsl-kdd", Class: gateway.ClassFlow,
		Fields: map[string]any{"n": json.Number("1.5"), "s": "x", "arr": []any{"a", json.Number("2")}}, Raw: []byte("a,b,c")}
	with := func(i int, f func(e *gateway.Event)) gateway.Event {
		e := base
		e.Raw = fmt.Appendf(nil, "line %d", i)
		f(&e)
		return e
	}
	return []gateway.Event{
		with(0, func(e *gateway.Event) {}),
		with(1, func(e *gateway.Event) { e.Host, e.Index = "sensor-01", "main" }),
		with(2, func(e *gateway.Event) { e.Source = `a"b<c>` }),
		with(3, func(e *gateway.Event) { e.Sourcetype = "zéé\u2028" }),
		with(4, func(e *gateway.Event) { e.Fields = nil; e.Raw = nil }),
		with(5, func(e *gateway.Event) { e.Labels = map[string]string{"env": "t", "raw": "x"} }),
		with(6, func(e *gateway.Event) { e.Class = "weird\tclass" }),
		with(7, func(e *gateway.Event) { e.Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) }),
		with(8, func(e *gateway.Event) { e.Host = "sensor-01" }),
		with(9, func(e *gateway.Event) { e.Host, e.Source = "sensor-02", "s2"; e.Raw = []byte{} }),
	}
}

// TestHeaderLeavesMatchLeaves: HeaderLeaves returns, per seq, the
// canonical bytes and leaf hash Leaves returns, an Event that is Leaves'
// event without Fields, Raw and Labels (or all of it, for a leaf
// decoded whole), and Full gives Leaves' event exactly; the same with
// the range held by the recent ring.
func TestHeaderLeavesMatchLeaves(t *testing.T) {
	ctx := context.Background()
	for _, recent := range []int{0, 64} {
		t.Run(fmt.Sprintf("recent=%d", recent), func(t *testing.T) {
			s := openTest(t, nil, WithBatchMaxEvents(5), WithRecentLeaves(recent, 1<<20))
			defer s.Close()
			mustAppend(t, s.Store, testEvents(0, 13, 300))
			mustAppend(t, s.Store, oddEvents())
			mustAppend(t, s.Store, testEvents(13, 7, 900))
			size := uint64(30)
			want, err := s.Leaves(ctx, 0, size)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.HeaderLeaves(ctx, 0, size)
			if err != nil {
				t.Fatal(err)
			}
			partial := 0
			for i := range got {
				g, w := &got[i], &want[i]
				if !bytes.Equal(g.Canonical, w.Canonical) || g.LeafHash != w.LeafHash {
					t.Errorf("seq %d: canonical bytes or leaf hash differ from Leaves'", i)
				}
				full, err := g.Full()
				if err != nil {
					t.Fatalf("seq %d: Full: %v", i, err)
				}
				if !reflect.DeepEqual(full, w.Event) {
					t.Errorf("seq %d: Full = %#v\nLeaves %#v", i, full, w.Event)
				}
				if g.Partial() {
					partial++
					if h := headerOf(w.Event); !reflect.DeepEqual(g.Event, h) {
						t.Errorf("seq %d: header = %#v\nwant %#v", i, g.Event, h)
					}
				} else if !reflect.DeepEqual(g.Event, w.Event) {
					t.Errorf("seq %d: whole leaf = %#v\nLeaves %#v", i, g.Event, w.Event)
				}
			}
			// Every event but the three with escaped header strings (2,
			// 3's U+2028 is written escaped, 6) is read header-only, from
			// the files or from the ring alike.
			if want := int(size) - 3; partial != want {
				t.Errorf("%d partial leaves, want %d", partial, want)
			}
			if _, held := s.recent.records(0, int(size)); held != (recent > 0) {
				t.Errorf("range held in memory: %v, want %v", held, recent > 0)
			}
		})
	}
}

// FuzzReadHeader: for the canonical bytes of any event, ReadHeader
// either refuses them or returns exactly the header of the event the
// store's decoder returns for them, whatever strings it shares through
// an Interner; it reads the header of every event whose header strings are
// written plain. On any bytes it never panics.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "host", "src", "flow", "st", int64(1764900000), int64(5), 3600, "src", []byte(nil))
	f.Add([]byte(`null`), "", "a\"b", "", "é", int64(-62135596800), int64(0), 0, "", []byte(`{"id":"x","seq":01,"received":"2026-12-05T03:04:05Z"`))
	f.Fuzz(func(t *testing.T, fields []byte, host, source, class, sourcetype string, sec, nsec int64, offset int, prevSource string, junk []byte) {
		gateway.ReadHeader(junk, nil) // must not panic
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(fields))
		d.UseNumber()
		if d.Decode(&m) != nil {
			m = nil
		}
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", offset%100000))
		ev := gateway.Event{ID: fmt.Sprintf("%064x", sec), Seq: uint64(nsec), Time: tm, Received: time.Unix(nsec, sec).UTC(), Source: source, Sourcetype: sourcetype,
			Host: host, Index: class + host, Class: gateway.Class(class), Fields: m, Raw: []byte(source)}
		leaf, err := ev.Canonical()
		if err != nil {
			return
		}
		want, err := decodeLeaf(leaf, ev.Seq)
		if err != nil {
			t.Fatalf("decodeLeaf of a canonical event: %v", err)
		}
		strs := gateway.NewInterner(2) // holds two of the strings at most
		for _, s := range []string{prevSource, sourcetype, host} {
			strs.Intern([]byte(s))
		}
		for _, intern := range []func([]byte) string{nil, strs.Intern} {
			got, ok := gateway.ReadHeader(leaf, intern)
			if !ok {
				plain := true
				for _, s := range []string{ev.ID, source, sourcetype, host, class + host, class} {
					b, _ := json.Marshal(s)
					plain = plain && string(b) == `"`+s+`"`
				}
				if plain && ev.Time.Year() >= 0 && ev.Time.Year() <= 9999 {
					t.Fatalf("ReadHeader refused %q", leaf)
				}
				continue
			}
			if h := headerOf(want); !reflect.DeepEqual(got, h) {
				t.Fatalf("ReadHeader(%q) =\n%#v\nwant %#v", leaf, got, h)
			}
		}
	})
}

// TestPartialLeafDecodeErrorIsTyped: a partial leaf whose fields do not
// decode fails Full with a *SegmentCorruptError naming its segment file,
// as Leaves reports such a leaf.
func TestPartialLeafDecodeErrorIsTyped(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	defer s.Close()
	mustAppend(t, s.Store, testEvents(0, 3, 100))
	leaves, err := s.HeaderLeaves(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	l := leaves[1]
	if !l.Partial() {
		t.Fatal("leaf 1 is whole, want partial")
	}
	// The same header, fields that do not decode (the frame checksum
	// guards the files; this stands for bytes damaged past it).
	l.Canonical = bytes.Replace(bytes.Clone(l.Canonical), []byte(`"fields":{`), []byte(`"fields":{{`), 1)
	_, err = l.Full()
	var sce *SegmentCorruptError
	if !errors.As(err, &sce) || sce.Path == "" {
		t.Fatalf("Full of a damaged leaf: %v (%T), want a *SegmentCorruptError naming its file", err, err)
	}
}
