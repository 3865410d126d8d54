package store

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestAppendReturnsMapFreeFields: an event whose fields exist only as
// their canonical bytes (ingest's map-free path: Fields nil) is returned
// with the bytes still set, so its Canonical is the stored leaf's, as for
// an event with decoded fields; the stored event has the fields decoded.
func TestAppendReturnsMapFreeFields(t *testing.T) {
	s := openTest(t, nil)
	defer s.Close()
	free := testEvent(1, 0)
	free.Fields, free.FieldsCanonical = nil, []byte(`{"a":1,"b":"x"}`)
	decoded := testEvent(2, 0)
	out := mustAppend(t, s.Store, []gateway.Event{free, decoded})
	for i, ev := range out {
		stored, err := s.EventBySeq(context.Background(), ev.Seq)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stored.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("event %d: returned Canonical\n%s\nwant the stored\n%s", i, got, want)
		}
	}
	stored, err := s.EventBySeq(context.Background(), out[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(stored.Fields), "map[a:1 b:x]"; got != want {
		t.Errorf("stored fields %s, want %s", got, want)
	}
}
