package intel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func obj(id string, block uint64, tx, idx uint32, added time.Time) Object {
	return Object{ID: id, Type: "indicator", Version: "v", SpecVersion: "2.1", DateAdded: added, Pos: Position{block, tx, idx}, Body: []byte(`{}`)}
}

func scanIDs(t *testing.T, c *Catalog, g Group, after Position, addedAfter time.Time) []string {
	t.Helper()
	var got []string
	if err := c.Scan(context.Background(), g, after, addedAfter, func(o Object) bool { got = append(got, o.ID); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCatalogScan(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	c := NewCatalog()
	// Three indicators in one transaction share a timestamp; a later tx
	// carries an earlier client timestamp (clamped).
	for _, o := range []Object{
		obj("a", 5, 0, 0, t0), obj("b", 5, 0, 1, t0), obj("c", 5, 0, 2, t0),
		obj("d", 5, 3, 0, t0.Add(time.Second)), obj("e", 7, 1, 0, t0.Add(500*time.Millisecond)),
	} {
		if err := c.Add(GroupShared, o); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		after      Position
		addedAfter time.Time
		want       []string
	}{
		{"from the start", Position{}, time.Time{}, []string{"a", "b", "c", "d", "e"}},
		{"after the middle of a transaction", Position{5, 0, 1}, time.Time{}, []string{"c", "d", "e"}},
		{"after a position not held", Position{6, 0, 0}, time.Time{}, []string{"e"}},
		{"after the end", Position{9, 0, 0}, time.Time{}, nil},
		{"added after is exclusive", Position{}, t0, []string{"d", "e"}},
		{"added after the clamped time", Position{}, t0.Add(time.Second), nil},
		{"both bounds, the later wins", Position{5, 3, 0}, t0, []string{"e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanIDs(t, c, GroupShared, tt.after, tt.addedAfter); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := scanIDs(t, c, GroupAmber, Position{}, time.Time{}); got != nil {
		t.Errorf("amber: got %v, want nothing", got)
	}
}

func TestCatalogAddOrder(t *testing.T) {
	t0 := time.Now()
	c := NewCatalog()
	if err := c.Add(GroupAmber, obj("a", 3, 0, 0, t0)); err != nil {
		t.Fatal(err)
	}
	// A replay of the last version is harmless.
	if err := c.Add(GroupAmber, obj("a", 3, 0, 0, t0)); err != nil {
		t.Errorf("replay: got %v, want nil", err)
	}
	var ooo *OutOfOrderError
	if err := c.Add(GroupAmber, obj("b", 2, 9, 0, t0)); !errors.As(err, &ooo) {
		t.Errorf("earlier position: got %v, want *OutOfOrderError", err)
	}
	if err := c.Add(GroupAmber, obj("b", 3, 0, 0, t0)); !errors.As(err, &ooo) {
		t.Errorf("same position, other object: got %v, want *OutOfOrderError", err)
	}
	if err := c.Add(Group("red"), obj("x", 9, 0, 0, t0)); err == nil {
		t.Error("unknown group: got nil error")
	}
	if got, want := c.Len(GroupAmber), 1; got != want {
		t.Errorf("Len: got %d, want %d", got, want)
	}
}

func TestCatalogVersionsAndRemove(t *testing.T) {
	t0 := time.Now()
	c := NewCatalog()
	for i, id := range []string{"a", "b", "a", "c"} {
		o := obj(id, uint64(i+1), 0, 0, t0)
		o.Version = fmt.Sprint(i)
		if err := c.Add(GroupShared, o); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := c.Versions(context.Background(), GroupShared, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vs), 2; got != want || vs[0].Version != "0" || vs[1].Version != "2" {
		t.Fatalf("versions of a: got %+v, want 2 in order", vs)
	}
	c.Remove(GroupShared, "a")
	if got, want := scanIDs(t, c, GroupShared, Position{}, time.Time{}), []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("after remove: got %v, want %v", got, want)
	}
	if vs, _ := c.Versions(context.Background(), GroupShared, "a"); vs != nil {
		t.Errorf("versions after remove: got %v, want none", vs)
	}
	if got, want := c.Len(GroupShared), 2; got != want {
		t.Errorf("Len: got %d, want %d", got, want)
	}
}

func TestGroupOf(t *testing.T) {
	tests := []struct {
		tlp  string
		want Group
		ok   bool
	}{{"CLEAR", GroupShared, true}, {"GREEN", GroupShared, true}, {"AMBER", GroupAmber, true}, {"AMBER+STRICT", GroupAmber, true}, {"RED", "", false}, {"white", "", false}}
	for _, tt := range tests {
		if got, ok := GroupOf(tt.tlp); got != tt.want || ok != tt.ok {
			t.Errorf("GroupOf(%q): got %q %v, want %q %v", tt.tlp, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCatalogServesAVersionOnce(t *testing.T) {
	t0 := time.Now()
	c := NewCatalog()
	first := obj("indicator--1", 3, 0, 0, t0)
	again := obj("indicator--1", 7, 1, 0, t0) // the same object shared again later
	newer := obj("indicator--1", 8, 0, 0, t0)
	newer.Version = "v2"
	for _, o := range []Object{first, again, newer} {
		if err := c.Add(GroupShared, o); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := c.Versions(context.Background(), GroupShared, "indicator--1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%s@%d", v.Version, v.Pos.Block))
	}
	if want := []string{"v@3", "v2@8"}; !slices.Equal(got, want) {
		t.Errorf("versions = %v, want %v (a re-shared version is served once)", got, want)
	}
}
