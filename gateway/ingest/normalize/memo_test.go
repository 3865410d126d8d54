package normalize

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// TestMemoSequence: a long random sequence of records whose names change in every
// way (same list, one name swapped, reordered, escaped spelling of the
// same name, duplicates, a recognisable name, broken records, records
// refused by stop part-way) through ONE Decoder (memo + stop asked once),
// each compared with a fresh Decoder (no memo, stop always asked).
func TestMemoSequence(t *testing.T) {
	names := []string{`a`, `b`, `host`, `host.name`, `@timestamp`, `event`, `event.category`, `dns.question.name`,
		`id.orig_h`, `winlog`, `\u0068ost`, `ho\u0073t.name`, `c`, `kdd.flag`}
	vals := []string{`1`, `"x"`, `{"name":"n"}`, `["web"]`, `"2026-12-05T01:02:03Z"`, `1700000000`, `null`, `{"category":"process"}`}
	stop := func(key []byte, record bool) bool {
		if record {
			return MayRecognise(key)
		}
		return string(key) == "fields"
	}
	rng := rand.New(rand.NewSource(13))
	var keep, keepObj ingest.Decoder
	var last []string
	for n := 0; n < 20000; n++ {
		var ks []string
		switch r := rng.Intn(10); {
		case r < 5 && last != nil:
			ks = append([]string(nil), last...) // same names
		case r < 7 && last != nil:
			ks = append([]string(nil), last...)
			ks[rng.Intn(len(ks))] = names[rng.Intn(len(names))]
		case r < 8 && len(last) > 1:
			ks = append([]string(nil), last...)
			i, j := rng.Intn(len(ks)), rng.Intn(len(ks))
			ks[i], ks[j] = ks[j], ks[i]
		default:
			for range rng.Intn(5) {
				ks = append(ks, names[rng.Intn(len(names))])
			}
		}
		last = ks
		var b strings.Builder
		b.WriteString("{")
		for i, k := range ks {
			if i > 0 {
				b.WriteString([]string{",", ", "}[rng.Intn(2)])
			}
			fmt.Fprintf(&b, `"%s":%s`, k, vals[rng.Intn(len(vals))])
		}
		if rng.Intn(40) == 0 {
			b.WriteString(`,"broken":`) // unterminated
		}
		b.WriteString("}")
		rec := b.String()
		var line []byte
		if rng.Intn(2) == 0 {
			line = []byte(`{"time":1,"event":` + rec + `}`)
		} else {
			line = []byte(`{"event":` + rec + `,"host":"h"}`)
		}
		var fresh ingest.Decoder
		gm, gok := keep.MembersShallow(line, stop)
		var gres Result
		var gsh bool
		var gcanon []byte
		if gok {
			for _, m := range gm {
				if m.Key == "event" && m.Shallow {
					gres, gsh = Shallow(m.Fields, keep.Value)
					gcanon = bytes.Clone(m.Canonical)
				}
			}
		}
		fm, fok := fresh.MembersShallow(line, stop)
		var fres Result
		var fsh bool
		var fcanon []byte
		if fok {
			for _, m := range fm {
				if m.Key == "event" && m.Shallow {
					fres, fsh = Shallow(m.Fields, fresh.Value)
					fcanon = bytes.Clone(m.Canonical)
				}
			}
		}
		if gok != fok || gsh != fsh || !bytes.Equal(gcanon, fcanon) || !reflect.DeepEqual(gres, fres) {
			t.Fatalf("record %d %s: kept decoder ok %v shallow %v %+v %s; fresh ok %v shallow %v %+v %s", n, line, gok, gsh, gres, gcanon, fok, fsh, fres, fcanon)
		}
		// The record alone through ObjectShallow (esbulk's path), on a
		// persistent Decoder of its own.
		var freshO ingest.Decoder
		of, oc, ook := keepObj.ObjectShallow([]byte(rec), stop)
		var ores, fores Result
		var osh, fosh bool
		if ook {
			ores, osh = Shallow(of, keepObj.Value)
			oc = bytes.Clone(oc)
		}
		ff, fc, fook := freshO.ObjectShallow([]byte(rec), stop)
		if fook {
			fores, fosh = Shallow(ff, freshO.Value)
		}
		if ook != fook || osh != fosh || !bytes.Equal(oc, fc) || !reflect.DeepEqual(ores, fores) {
			t.Fatalf("record %d %s: ObjectShallow kept %v %v %+v %s; fresh %v %v %+v %s", n, rec, ook, osh, ores, oc, fook, fosh, fores, fc)
		}
	}
}

// FuzzPredictedStop: FuzzDecoderPredicted with the parsers' stop
// function and normalize.Shallow's memo: b read right after a (and after
// b itself) by one Decoder gives what a fresh Decoder gives for b alone.
func FuzzPredictedStop(f *testing.F) {
	f.Add([]byte(`{"a":1,"host":"x"}`), []byte(`{"a":1,"host":"y","winlog":1}`))
	f.Add([]byte(`{"event":{"a":1,"host":"x"}}`), []byte(`{"event":{"a":1,"host.name":"y"}}`))
	f.Add([]byte(`{"event":{"a":1,"id.orig_h":"x"}}`), []byte(`{"event":{"a":1,"id.orig_h":"y"}}`))
	f.Add([]byte(`{"a":1,"\u0068ost":"x"}`), []byte(`{"a":1,"host":"y"}`))
	stop := func(key []byte, record bool) bool {
		if record {
			return MayRecognise(key)
		}
		return string(key) == "fields"
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, prev := range [][]byte{a, b} {
			var d, fresh ingest.Decoder
			if fs, _, ok := d.ObjectShallow(prev, stop); ok {
				Shallow(fs, d.Value)
			}
			fields, canon, ok := d.ObjectShallow(b, stop)
			wfields, wcanon, wok := fresh.ObjectShallow(b, stop)
			if ok != wok || !bytes.Equal(canon, wcanon) {
				t.Fatalf("%q after %q: ObjectShallow %v %q, fresh %v %q", b, prev, ok, canon, wok, wcanon)
			}
			if ok {
				g, gok := Shallow(fields, d.Value)
				w, wk := Shallow(wfields, fresh.Value)
				if gok != wk || !reflect.DeepEqual(g, w) {
					t.Fatalf("%q after %q: Shallow %+v %v, fresh %+v %v", b, prev, g, gok, w, wk)
				}
			}
			d, fresh = ingest.Decoder{}, ingest.Decoder{}
			if ms, ok := d.MembersShallow(prev, stop); ok {
				for _, m := range ms {
					if m.Shallow {
						Shallow(m.Fields, d.Value)
					}
				}
			}
			ms, ok := d.MembersShallow(b, stop)
			var gs []string
			if ok {
				for _, m := range ms {
					if m.Shallow {
						r, k := Shallow(m.Fields, d.Value)
						gs = append(gs, fmt.Sprintf("%s %q %+v %v", m.Key, m.Canonical, r, k))
					}
				}
			}
			wms, wok2 := fresh.MembersShallow(b, stop)
			var ws []string
			if wok2 {
				for _, m := range wms {
					if m.Shallow {
						r, k := Shallow(m.Fields, fresh.Value)
						ws = append(ws, fmt.Sprintf("%s %q %+v %v", m.Key, m.Canonical, r, k))
					}
				}
			}
			if ok != wok2 || !reflect.DeepEqual(gs, ws) {
				t.Fatalf("%q after %q: MembersShallow %v %v, fresh %v %v", b, prev, ok, gs, wok2, ws)
			}
		}
	})
}
