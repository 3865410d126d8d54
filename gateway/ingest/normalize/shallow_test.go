package normalize

import (
	"reflect"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// shallowDocs are objects of every shape: recognised ones (Shallow must
// decline them) and kept ones (Shallow must give Object's class, time and
// host).
var shallowDocs = []string{
	`{"kdd.duration":0,"kdd.flag":"SF","bench.r":"0001"}`,
	`{"@timestamp":"2026-12-05T01:02:03.5Z","event":{"category":["web","authentication"]},"host":{"name":"web-1","name":"web-2"}}`,
	`{"@timestamp":1700000000.25,"host.name":"web-2","dns.question.name":"x.example","event.category":"process"}`,
	`{"event.category":["x",1,"iam"],"host":"not an object","host.name":7}`, `{"event":"x","host":{"name":"-"}}`,
	`{"@timestamp":"bad","event":{"category":"intrusion_detection"},"\u0068ost.name":"h"}`, `{}`,
	`{"_path":"conn","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp","ts":1700000000.5}`,
	`{"event_type":"alert","src_ip":"10.0.0.1","alert":{"signature":"x"}}`, `{"event_type":"x","a":1}`,
	`{"winlog":{"event_id":4625,"channel":"Security","event_data":{"TargetUserName":"bob"}}}`, `{"EventID":4624,"Channel":"Security"}`,
	`{"id.orig_h":"10.0.0.1"}`,
}

// TestShallowMatchesObject runs the shapes as a table (FuzzShallow's seeds).
func TestShallowMatchesObject(t *testing.T) {
	var d ingest.Decoder
	kept := 0
	for _, doc := range shallowDocs {
		if checkShallow(t, &d, []byte(doc)) {
			kept++
		}
	}
	if kept != 7 {
		t.Errorf("%d objects kept map-free, want 7", kept)
	}
}

// FuzzShallow checks Shallow against Object on arbitrary objects: when
// it takes an object, Object keeps that object as decoded with the same
// class, time and host; when it declines one, the object has a member
// name MayRecognise names.
func FuzzShallow(f *testing.F) {
	for _, doc := range shallowDocs {
		f.Add([]byte(doc))
	}
	var d ingest.Decoder
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkShallow(t, &d, doc)
		// Again: the same names, so Shallow reads its memo this time.
		checkShallow(t, &d, doc)
	})
}

// TestShallowMemo: records with the same names as the last one, whose
// memo Shallow reads instead of switching on every name, give what a
// fresh Decoder gives; and a recognisable record's memo declines its
// successor.
func TestShallowMemo(t *testing.T) {
	var d ingest.Decoder
	for _, docs := range [][]string{
		{`{"kdd.flag":"SF","host":"a","event.category":"network"}`, `{"kdd.flag":"S0","host":"b","event.category":"process"}`, `{"kdd.flag":"S0","host":{"name":"c"},"event.category":["web"]}`},
		{`{"@timestamp":"2026-12-05T01:02:03Z","host.name":"x"}`, `{"@timestamp":1700000000,"host.name":"y"}`},
		{`{"a":1,"id.orig_h":"10.0.0.1"}`, `{"a":2,"id.orig_h":"10.0.0.2"}`},
		{`{"a":1,"b":2}`, `{"b":1,"a":2}`, `{"host":"h","a":1}`},
	} {
		for _, doc := range docs {
			checkShallow(t, &d, []byte(doc))
			var fresh ingest.Decoder
			fields, _, ok := d.ObjectShallow([]byte(doc), nil)
			ffields, _, fok := fresh.ObjectShallow([]byte(doc), nil)
			if !ok || !fok {
				t.Fatalf("%s: ObjectShallow refused", doc)
			}
			if _, memo := fields.Memo(); !memo {
				t.Errorf("%s: read again, no memo", doc)
			}
			got, gok := Shallow(fields, d.Value)
			want, wok := Shallow(ffields, fresh.Value)
			if gok != wok || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: with the memo %+v %v, fresh %+v %v", doc, got, gok, want, wok)
			}
		}
	}
}

// checkShallow checks Shallow on doc against Object and reports whether
// Shallow took it.
func checkShallow(t *testing.T, d *ingest.Decoder, doc []byte) bool {
	t.Helper()
	fields, _, ok := d.ObjectShallow(doc, nil)
	if !ok {
		return false
	}
	recognisable := false
	for i := range fields.Len() {
		recognisable = recognisable || MayRecognise(fields.Key(i))
	}
	got, ok := Shallow(fields, d.Value)
	if ok == recognisable {
		t.Fatalf("%s: Shallow ok %v with a recognisable name %v", doc, ok, recognisable)
	}
	obj, err := ingest.DecodeObject(doc)
	if err != nil {
		t.Fatalf("%s: decoded map-free, DecodeObject: %v", doc, err)
	}
	want := Object(obj, "")
	if !ok {
		return false
	}
	if reflect.ValueOf(want.Fields).UnsafePointer() != reflect.ValueOf(obj).UnsafePointer() {
		t.Fatalf("%s: Shallow took an object Object does not keep as decoded (%s)", doc, want.Kind)
	}
	if got.Fields != nil || got.Class != want.Class || got.Kind != want.Kind || !got.Time.Equal(want.Time) || got.Time.Location() != want.Time.Location() || got.Host != want.Host {
		t.Fatalf("%s: Shallow %+v, Object %s %q %v %q", doc, got, want.Class, want.Kind, want.Time, want.Host)
	}
	return true
}

// TestShallowName pins shallowName (MayRecognise is its recognisable
// answer, keptName the others).
func TestShallowName(t *testing.T) {
	tests := map[string]int{"id.orig_h": recognisable, "event_type": recognisable, "winlog": recognisable, "EventID": recognisable,
		"": -1, "kdd.flag": -1, "Host": -1, "event.categor": -1, "winlogs": -1, "eventid": -1}
	for i, k := range keptNames {
		tests[k] = i
	}
	for key, want := range tests {
		if got := shallowName([]byte(key)); got != want || keptName(key) != max(want, -1) || MayRecognise([]byte(key)) != (want == recognisable) {
			t.Errorf("shallowName(%q) = %d, keptName %d, MayRecognise %v; want %d", key, got, keptName(key), MayRecognise([]byte(key)), want)
		}
	}
}
