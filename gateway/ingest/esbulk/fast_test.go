package esbulk

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// FuzzFastParse checks Parse (the fast decoder first) against parse with
// encoding/json alone on arbitrary bodies: the same items (statuses,
// errors, ids), the same events and canonical bytes, the same refusal.
func FuzzFastParse(f *testing.F) {
	for _, s := range []string{
		"{\"index\":{}}\n{\"a\":1}\n",
		"{\"create\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"b\":\"<\",\"a\":[1,{}]}\n{\"index\":{\"_index\":null}}\n{\"a\":1}\n",
		"{\"index\":{\"_INDEX\":\"x\"}}\n{\"a\":1}\n", "{\"index\":{\"_index\":5}}\n{\"a\":1}\n", "{\"index\":{},\"create\":{}}\n{\"a\":1}\n",
		"{\"index\":{}}\n{\"a\":1,\"a\":2}\n", "{\"index\":{}}\n{\"a\":1} x\n", "{\"delete\":{\"_id\":\"1\"}}\n{\"update\":{}}\n{\"doc\":{}}\n",
		"{\"index\":null}\n{\"a\":1}\n", "{\"index\":{}}\n{\"EventID\":4625,\"Channel\":\"Security\",\"TargetUserName\":\"alice\"}\n",
		"{\"index\":{}}\n{\"@timestamp\":\"2026-03-01T11:00:00.000Z\",\"event\":{\"category\":\"network\"},\"host\":{\"name\":\"a\",\"name\":\"b\"},\"x\":{\"y\":1,\"y\":\"<\"}}\n",
		"{\"index\":{}}\n{\"dns.question.name\":\"x.example\",\"host.name\":\"h\"}\n{\"index\":{}}\n{\"winlog\":{\"event_id\":4624,\"channel\":\"Security\"}}\n",
		"{\"index\":{}}\n{}\n{\"index\":{}}\n{\"a\":\"\xff\"}\n{\"index\":{}}\n{\"\\u0068ost.name\":\"h\"}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096}
		got, gerr := parse(body, "idx", meta(), lim, new(ingest.Decoder))
		maps, merr := parse(body, "idx", meta(), lim, &ingest.Decoder{MapsOnly: true})
		want, werr := parse(body, "idx", meta(), lim, nil)
		for _, p := range []struct {
			name string
			res  Result
			err  error
		}{{"map path", maps, merr}, {"map-free path", got, gerr}} {
			if (p.err == nil) != (werr == nil) || (p.err != nil && p.err.Error() != werr.Error()) {
				t.Fatalf("%q: %s error %v, encoding/json path %v", body, p.name, p.err, werr)
			}
			if !reflect.DeepEqual(p.res.Items, want.Items) {
				t.Fatalf("%q: %s items %+v, encoding/json path %+v", body, p.name, p.res.Items, want.Items)
			}
		}
		ingesttest.SameEvents(t, body, maps.Events, want.Events)
		ingesttest.SameEvents(t, body, got.Events, maps.Events)
	})
}

// TestFastParseTaken pins that an ordinary _bulk body takes the fast path.
func TestFastParseTaken(t *testing.T) {
	body := []byte("{\"create\":{\"_index\":\"logs\"}}\n{\"message\":\"hello\",\"n\":1}\n")
	var d ingest.Decoder
	if _, _, ok := fastAction(&d, []byte("{\"create\":{\"_index\":\"logs\",\"_id\":\"7\"}}")); !ok {
		t.Error("the action line did not take the fast path")
	}
	res, err := Parse(body, "", meta(), ingest.Limits{})
	if err != nil || len(res.Events) != 1 || res.Events[0].FieldsCanonical == nil || res.Events[0].Fields != nil {
		t.Fatalf("Parse: %v, %+v", err, res.Events)
	}
	// A recognised document keeps its normalised map; an ECS one none.
	body = []byte("{\"index\":{\"_index\":\"w\"}}\n{\"EventID\":4625,\"Channel\":\"Security\",\"TargetUserName\":\"alice\"}\n" +
		"{\"index\":{\"_index\":\"w\"}}\n{\"@timestamp\":\"2026-03-01T11:00:00Z\",\"event\":{\"category\":\"authentication\"},\"host\":{\"name\":\"dc-1\"}}\n")
	res, err = Parse(body, "", meta(), ingest.Limits{})
	if err != nil || len(res.Events) != 2 {
		t.Fatalf("Parse: %v, %+v", err, res.Events)
	}
	if ev := res.Events[0]; ev.Fields == nil || ev.FieldsCanonical != nil || ev.Class != gateway.ClassAuth {
		t.Errorf("Windows event: Fields %v, FieldsCanonical %q, class %s", ev.Fields, ev.FieldsCanonical, ev.Class)
	}
	if ev := res.Events[1]; ev.Fields != nil || ev.FieldsCanonical == nil || ev.Class != gateway.ClassAuth || ev.Time.Year() != 2026 {
		t.Errorf("ECS event: Fields %v, FieldsCanonical %q, class %s, time %v", ev.Fields, ev.FieldsCanonical, ev.Class, ev.Time)
	}
}

// BenchmarkSourcePath compares the CPU per _bulk item of the
// encoding/json path ("strict"), the fast decoder building maps ("maps")
// and its map-free mode ("fast") in one process, Validate and Canonical
// included as the store runs them.
func BenchmarkSourcePath(b *testing.B) {
	pair := `{"create":{"_index":"logs-endpoint"}}` + "\n" +
		`{"@timestamp":"2026-03-01T11:00:00.000Z","event.category":"network","source.ip":"10.1.2.3","source.port":51515,"destination.ip":"10.0.0.9","destination.port":443,"network.transport":"tcp","bytes":5123,"duration":1.25,"host.name":"web-01"}` + "\n"
	body := []byte(strings.Repeat(pair, 1000))
	for _, bc := range []struct {
		name string
		dec  *ingest.Decoder
	}{{"strict", nil}, {"maps", &ingest.Decoder{MapsOnly: true}}, {"fast", new(ingest.Decoder)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			rate := ingesttest.Rate(b)
			for b.Loop() {
				res, err := parse(body, "", meta(), ingest.Limits{}, bc.dec)
				if err != nil || res.Errors() {
					b.Fatalf("parse: %v, item errors %v", err, res.Errors())
				}
				ingesttest.StoreWork(b, res.Events)
			}
			rate(1000)
		})
	}
}
