package wire_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// setIDsInputs are stored-set JSON values of every kind StoredAlertSetIDs
// must read as encoding/json does: sets as the chaincode writes them, and
// forms the skimmer leaves to encoding/json.
func setIDsInputs() []string {
	var out []string
	for _, s := range alertSets() {
		if b, err := json.Marshal(s); err == nil {
			out = append(out, string(b))
		}
	}
	return append(out,
		`{}`, ` { } `, `null`, ``, `[]`, `{"alerts":[]}`, `{"alerts":null}`, `{"alerts":[{}]}`, `{"alerts":[null]}`,
		`{"alerts":[{"id":"a"},{"id":"b","x":[1,2,{"y":null}]}],"merged":[{"id":"c"}]}`,
		`{"alerts":[{"id":"a"}],"alerts":[{"x":1}]}`, `{"alerts":[{"id":"a","id":"b"}]}`,
		`{"Alerts":[{"id":"a"}]}`, `{"alerts":[{"ID":"a"}]}`, `{"alertſ":[{"id":"a"}]}`, `{"alerts":[{"Id":"a"}]}`,
		`{"al\u0065rts":[{"id":"a"}]}`, `{"alerts":[{"i\u0064":"a"}]}`, `{"alerts":[{"id":"a\u0041"}]}`,
		`{"alerts":[{"id":1}]}`, `{"alerts":{}}`, `{"alerts":[{"id":"a"}]} x`, `{"alerts":[{"id":"a"}],}`,
		`{"x":"\q"}`, `{"x":"\u12"}`, `{"x":"\u12G4"}`, "{\"x\":\"a\x01\"}", "{\"x\":\"bad\xff\"}", "{\"alerts\":[{\"id\":\"bad\xff\"}]}",
		`{"x":-}`, `{"x":01}`, `{"x":1.}`, `{"x":1e}`, `{"x":1e+5}`, `{"x":-0.5E-3}`, `{"x":tru}`, `{"x":nul}`, `{"x":[}`,
		`{"x":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`}`,
		`{"x":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`}`,
	)
}

func checkSetIDs(t *testing.T, data []byte) {
	t.Helper()
	var got []string
	gotErr := wire.StoredAlertSetIDs(data, func(id string) { got = append(got, id) })
	var s wire.StoredSetIDs
	var want []string
	wantErr := wire.DecodeStoredAlertSet(data, &s)
	if wantErr == nil {
		for _, a := range s.Alerts {
			want = append(want, a.ID)
		}
		for _, a := range s.Merged {
			want = append(want, a.ID)
		}
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("StoredAlertSetIDs(%q) error = %v, want %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StoredAlertSetIDs(%q) = %q, want %q", data, got, want)
	}
}

// TestStoredAlertSetIDsMatchesDecode: the ids and errors are those of
// decoding with encoding/json, for plain and compressed values.
func TestStoredAlertSetIDsMatchesDecode(t *testing.T) {
	for _, in := range setIDsInputs() {
		checkSetIDs(t, []byte(in))
	}
	for _, s := range alertSets() {
		if v, err := wire.EncodeStoredAlertSet(s); err == nil {
			checkSetIDs(t, v)
		}
	}
}

// TestStoredAlertSetIDsSkims: a set as the chaincode writes it is skimmed,
// not handed to encoding/json.
func TestStoredAlertSetIDsSkims(t *testing.T) {
	for i, s := range alertSets()[:3] {
		b, _ := json.Marshal(s)
		if _, _, ok := wire.SkimSetIDs(b); !ok {
			t.Errorf("set %d was not skimmed: %s", i, b)
		}
	}
}

// FuzzStoredAlertSetIDs checks StoredAlertSetIDs against encoding/json on
// any stored value.
func FuzzStoredAlertSetIDs(f *testing.F) {
	for _, in := range setIDsInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSetIDs(t, data) })
}
