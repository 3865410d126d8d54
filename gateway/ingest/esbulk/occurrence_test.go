package esbulk

import (
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"testing"
)

// A document whose time cannot be stored is a per-item 400; an item with
// _id keeps its id across requests whatever the request key, one without
// takes its id from the key and position.
func TestInvalidItemAndOccurrence(t *testing.T) {
	body := []byte(`{"index":{"_index":"logs","_id":"d1"}}` + "\n" + `{"m":"same"}` + "\n" +
		`{"index":{"_index":"logs"}}` + "\n" + `{"m":"same","@timestamp":"0000-01-01T00:00:00+00:01"}` + "\n" +
		`{"index":{"_index":"logs"}}` + "\n" + `{"m":"same"}` + "\n" +
		`{"index":{"_index":"other","_id":"d1"}}` + "\n" + `{"m":"same"}` + "\n")
	parse := func(key string) Result {
		m := meta()
		m.Key = key
		res, err := Parse(body, "", m, ingest.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := parse("k1"), parse("k2")
	if got := []int{a.Items[0].Status, a.Items[1].Status, a.Items[2].Status, a.Items[3].Status}; got[0] != 201 || got[1] != 400 || got[2] != 201 || got[3] != 201 {
		t.Fatalf("statuses %v, want 201 400 201 201", got)
	}
	if e := a.Items[1].Error; e == nil || e.Type != "document_parsing_exception" || a.Items[1].Event != -1 {
		t.Errorf("item 1 = %+v", a.Items[1])
	}
	if len(a.Events) != 3 || !a.Errors() {
		t.Fatalf("%d events, errors %v", len(a.Events), a.Errors())
	}
	ids := map[string]bool{}
	for _, e := range a.Events {
		ids[e.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("identical documents share ids: %d distinct of 3", len(ids))
	}
	if a.Events[0].ID != b.Events[0].ID || a.Items[0].ID != "d1" {
		t.Error("an item with _id changed id with the request key")
	}
	if a.Events[1].ID == b.Events[1].ID {
		t.Error("an item without _id kept its id under another request key")
	}
}
