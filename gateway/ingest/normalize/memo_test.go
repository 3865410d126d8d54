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
		gok, gsh, gres, gcanon := shallowEvent(&keep, line, stop)
		fok, fsh, fres, fcanon := shallowEvent(&fresh, line, stop)
		if gok != fok || gsh != fsh || !bytes.Equal(gcanon, fcanon) || !reflect.DeepEqual(gres, fres) {
			t.Fatalf("record %d %s: kept decoder ok %v shallow %v %+v %s; fresh ok %v shallow %v %+v %s", n, line, gok, gsh, gres, gcanon, fok, fsh, fres, fcanon)
		}
		// The record alone through ObjectShallow (esbulk's path), on a
		// persistent Decoder of its own.
		var freshO ingest.Decoder
		ook, osh, ores, oc := shallowObject(&keepObj, []byte(rec), stop)
		fook, fosh, fores, fc := shallowObject(&freshO, []byte(rec), stop)
		if ook != fook || osh != fosh || !bytes.Equal(oc, fc) || !reflect.DeepEqual(ores, fores) {
			t.Fatalf("record %d %s: ObjectShallow kept %v %v %+v %s; fresh %v %v %+v %s", n, rec, ook, osh, ores, oc, fook, fosh, fores, fc)
		}
	}
}

// shallowEvent reads line's "event" member with d (MembersShallow) and
// classifies it with Shallow: whether the line decoded, whether Shallow
// took the record, its result and the member's canonical bytes (a copy).
func shallowEvent(d *ingest.Decoder, line []byte, stop ingest.StopFunc) (ok, shallow bool, res Result, canon []byte) {
	ms, ok := d.MembersShallow(line, stop)
	if !ok {
		return false, false, Result{}, nil
	}
	for _, m := range ms {
		if m.Key == "event" && m.Shallow {
			res, shallow = Shallow(m.Fields, d.Value)
			canon = bytes.Clone(m.Canonical)
		}
	}
	return true, shallow, res, canon
}

// shallowObject is shallowEvent for a record read whole (ObjectShallow,
// esbulk's path).
func shallowObject(d *ingest.Decoder, rec []byte, stop ingest.StopFunc) (ok, shallow bool, res Result, canon []byte) {
	fields, c, ok := d.ObjectShallow(rec, stop)
	if !ok {
		return false, false, Result{}, nil
	}
	res, shallow = Shallow(fields, d.Value)
	return true, shallow, res, bytes.Clone(c)
}

// shallowMembers reads line with d (MembersShallow) and describes every
// member the map-free mode kept, classified with Shallow: its key,
// canonical bytes, result and whether Shallow took it.
func shallowMembers(d *ingest.Decoder, line []byte, stop ingest.StopFunc) (bool, []string) {
	ms, ok := d.MembersShallow(line, stop)
	if !ok {
		return false, nil
	}
	var out []string
	for _, m := range ms {
		if m.Shallow {
			r, k := Shallow(m.Fields, d.Value)
			out = append(out, fmt.Sprintf("%s %q %+v %v", m.Key, m.Canonical, r, k))
		}
	}
	return true, out
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
			shallowObject(&d, prev, stop)
			ok, sh, g, canon := shallowObject(&d, b, stop)
			wok, wsh, w, wcanon := shallowObject(&fresh, b, stop)
			if ok != wok || sh != wsh || !bytes.Equal(canon, wcanon) || !reflect.DeepEqual(g, w) {
				t.Fatalf("%q after %q: ObjectShallow %v %q, Shallow %+v %v; fresh %v %q, %+v %v", b, prev, ok, canon, g, sh, wok, wcanon, w, wsh)
			}
			d, fresh = ingest.Decoder{}, ingest.Decoder{}
			shallowMembers(&d, prev, stop)
			ok, gs := shallowMembers(&d, b, stop)
			wok, ws := shallowMembers(&fresh, b, stop)
			if ok != wok || !reflect.DeepEqual(gs, ws) {
				t.Fatalf("%q after %q: MembersShallow %v %v, fresh %v %v", b, prev, ok, gs, wok, ws)
			}
		}
	})
}
