package store

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestIDKeyOrderChangesNothing appends the same requests (with repeats
// inside a group and of stored events) to a store writing its id index
// keys sorted (the default) and to one writing them in seq order: both
// return the same seqs and end with the same Pebble contents, key for
// key.
func TestIDKeyOrderChangesNothing(t *testing.T) {
	sorted := openTest(t, nil, WithBatchMaxEvents(300))
	seqOrder := openTest(t, nil, WithBatchMaxEvents(300), func(c *config) error { c.testIDKeysInSeqOrder = true; return nil })
	defer sorted.Close()
	defer seqOrder.Close()
	reqs := [][]int{{0, 500}, {400, 1000}, {0, 10}, {1000, 1700}}
	for _, r := range reqs {
		evs := testEvents(r[0], r[1]-r[0], 300)
		evs = append(evs, evs[:5]...) // repeats within the group
		got := mustAppend(t, sorted.Store, evs)
		want := mustAppend(t, seqOrder.Store, evs)
		for i := range got {
			if got[i].Seq != want[i].Seq || got[i].ID != want[i].ID {
				t.Fatalf("request %v event %d: got seq %d id %s, want seq %d id %s", r, i, got[i].Seq, got[i].ID, want[i].Seq, want[i].ID)
			}
		}
	}
	a, b := dbContents(t, sorted.db), dbContents(t, seqOrder.db)
	if len(a) != len(b) {
		t.Fatalf("got %d keys, want %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i][0], b[i][0]) || !bytes.Equal(a[i][1], b[i][1]) {
			t.Fatalf("entry %d: got %x=%x, want %x=%x", i, a[i][0], a[i][1], b[i][0], b[i][1])
		}
	}
	if len(a) < 1700 {
		t.Fatalf("only %d keys: the id index is missing entries", len(a))
	}
}

func dbContents(t *testing.T, db *pebble.DB) [][2][]byte {
	t.Helper()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][2][]byte
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2][]byte{bytes.Clone(it.Key()), bytes.Clone(v)})
	}
	return out
}
