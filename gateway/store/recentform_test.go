package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// FuzzRecentForm: for fields built by ingest.Decoder (the events that
// carry FieldsCanonical), recentForm keeps the event, and what it keeps is
// exactly what decoding the event's canonical bytes gives, although it
// does not walk the fields.
func FuzzRecentForm(f *testing.F) {
	f.Add([]byte(`{"event":{"a":1,"b":[1.5,"x",{"c":null,"d":{}}],"e":"\u2028","f":"\ud800","g":-0.0e1}}`), "host", "raw")
	f.Add([]byte(`{"event":{"k\u00e9":"<>&","":[]}}`), "", "")
	var d ingest.Decoder
	f.Fuzz(func(t *testing.T, line []byte, host, raw string) {
		members, ok := d.Members(line)
		if !ok {
			return
		}
		for _, m := range members {
			fields, isObj := m.Value.(map[string]any)
			if !isObj || len(fields) == 0 {
				continue
			}
			e := gateway.Event{ID: "id", Seq: 3, Source: "s", Sourcetype: "st", Host: host, Class: gateway.ClassOther, Fields: fields,
				FieldsCanonical: m.Canonical, Raw: []byte(raw), Time: time.Unix(5, 7).In(time.FixedZone("z", 60)), Received: time.Unix(9, 0)}
			c, err := e.Canonical()
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			e.FieldsCanonical = nil // as Append drops it
			kept, ok := recentForm(e, true)
			if !ok {
				if _, plain := cacheForm(e); plain {
					t.Fatalf("recentForm refuses what cacheForm keeps: %#v", e)
				}
				continue // a host or raw of invalid UTF-8
			}
			want, err := decodeLeaf(c, 3)
			if err != nil {
				t.Fatalf("decodeLeaf: %v", err)
			}
			if !reflect.DeepEqual(kept, want) {
				t.Fatalf("kept %#v\ndecoded %#v", kept, want)
			}
		}
	})
}
