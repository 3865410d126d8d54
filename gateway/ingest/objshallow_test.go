package ingest

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// shallowSeeds add to decoderSeeds what the map-free mode handles on its
// own: nested duplicates (the last wins), escaped and non-ASCII names,
// strings it re-encodes, arrays of objects, deep nesting either side of
// decoderDepth.
var shallowSeeds = []string{
	`{"event":{"a":{"b":1,"b":2,"a":[{"y":1,"y":{"z":3}}]},"c":"<&>"}}`,
	`{"host":"h","event":{"\u00e9":"\u2028","a\"b":"x\\y","é":1,"":[],"k":{}}}`,
	`{"event":{"dns.question.name":"x.example","event":{"category":["network","dns"]},"host":{"name":"h1","name":"h2"}}}`,
	`{"event":{"winlog":{"event_id":4624}}}`, `{"fields":{"a":1},"event":{"b":2}}`,
	`{"event":` + strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat(`}`, 30) + `}`,
	`{"event":` + strings.Repeat(`[`, 31) + strings.Repeat(`]`, 31) + `}`,
	`{"event":{"a":"` + "\x7f\x01" + `"}}`,
	// From the second review: shape names and "fields" spelt with
	// escapes, duplicates that appear only once decoded (lone surrogates
	// both become U+FFFD), numbers at the edges.
	`{"event":{"event\u005ftype":"alert","src_ip":"10.0.0.1"}}`, `{"event":{"id.orig\u005fh":"10.0.0.1","uid":"C1"}}`,
	`{"event":{"win\u006cog":{"event_id":4625}}}`, `{"event":{"Event\u0049D":4688,"Channel":"Security"}}`,
	`{"fi\u0065lds":{"a":1},"event":{"b":2}}`, `{"event":{"\ud800":1,"\udc00":2,"n":{"\ud800":1,"\udc00":2}}}`,
	`{"event":{"a":1,"\u0061":2,"l":"<\u003c","z":-0,"big":1e400,"i":123456789012345678901234567890}}`,
}

// FuzzDecoderShallow checks the map-free mode against the map mode on
// arbitrary input: whatever MembersShallow (PrefixShallow, ObjectShallow)
// decodes, Members (Prefix, Object) decodes too, with the same members;
// an object member's canonical encoding is the same bytes, its Fields are
// the map's members (names distinct, each Raw decoding with Value to the
// map's value). So an event built from the map-free mode stores exactly
// what one built from the map mode does.
func FuzzDecoderShallow(f *testing.F) {
	for _, s := range append(append([]string{}, decoderSeeds...), shallowSeeds...) {
		f.Add([]byte(s))
	}
	var d, m Decoder // reused, as the parsers reuse them: the order caches are exercised
	f.Fuzz(func(t *testing.T, b []byte) {
		if fields, canon, ok := d.ObjectShallow(b, nil); ok {
			obj, want, mok := m.Object(b)
			if !mok {
				t.Fatalf("%q: ObjectShallow decodes, Object does not", b)
			}
			if !bytes.Equal(canon, want) {
				t.Fatalf("%q: ObjectShallow's canonical\n%s\nObject's\n%s", b, canon, want)
			}
			sameFields(t, b, &d, fields, obj)
		}
		if members, end, ok := d.PrefixShallow(b, nil); ok {
			want, wend, mok := m.Prefix(b)
			if !mok || wend != end {
				t.Fatalf("%q: PrefixShallow ends at %d, Prefix at %d (%v)", b, end, wend, mok)
			}
			sameMembers(t, b, &d, members, want)
		}
		members, ok := d.MembersShallow(b, nil)
		if !ok {
			return
		}
		want, mok := m.Members(b)
		if !mok {
			t.Fatalf("%q: MembersShallow decodes, Members does not", b)
		}
		sameMembers(t, b, &d, members, want)
	})
}

// sameMembers fails t unless the map-free mode's members (got) are the
// map mode's (want).
func sameMembers(t *testing.T, b []byte, d *Decoder, got, want []Member) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: %d members, map mode %d", b, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || !bytes.Equal(g.Raw, w.Raw) || !bytes.Equal(g.Canonical, w.Canonical) {
			t.Fatalf("%q: member %d: %q %q canonical %q, map mode %q %q canonical %q", b, i, g.Key, g.Raw, g.Canonical, w.Key, w.Raw, w.Canonical)
		}
		obj, isObj := w.Value.(map[string]any)
		if g.Shallow != isObj {
			t.Fatalf("%q: member %q: Shallow %v, map mode value %#v", b, g.Key, g.Shallow, w.Value)
		}
		if !isObj {
			if !reflect.DeepEqual(g.Value, w.Value) {
				t.Fatalf("%q: member %q: %#v, map mode %#v", b, g.Key, g.Value, w.Value)
			}
			continue
		}
		if g.Value != nil || g.Canonical == nil {
			t.Fatalf("%q: member %q: Shallow with Value %#v, Canonical %q", b, g.Key, g.Value, g.Canonical)
		}
		sameFields(t, b, d, g.Fields, obj)
	}
}

// sameFields fails t unless fields are obj's members, names distinct,
// each raw value decoding (Decoder.Value) to obj's.
func sameFields(t *testing.T, b []byte, d *Decoder, fields Fields, obj map[string]any) {
	t.Helper()
	if fields.Len() != len(obj) {
		t.Fatalf("%q: %d fields, map of %d", b, fields.Len(), len(obj))
	}
	for i := range fields.Len() {
		key, raw := fields.Key(i), fields.Raw(i)
		want, ok := obj[string(key)]
		if !ok {
			t.Fatalf("%q: field %q not in the map %#v", b, key, obj)
		}
		got, ok := d.Value(raw)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: field %q: Value(%q) = %#v (%v), map %#v", b, key, raw, got, ok, want)
		}
	}
}

// TestDecoderShallowTakes pins what the map-free mode takes and where it
// stops (the fuzz test alone would pass if it took nothing).
func TestDecoderShallowTakes(t *testing.T) {
	stopAt := func(name string) StopFunc {
		return func(key []byte, record bool) bool { return record && string(key) == name }
	}
	tests := []struct {
		name string
		line string
		stop StopFunc
		want bool
	}{
		{"flat flow", `{"sourcetype":"nsl-kdd","host":"sensor-01","event":{"kdd.duration":0,"kdd.protocol_type":"tcp","kdd.src_bytes":181,"rate":0.25}}`, nil, true},
		{"nested ecs", `{"event":{"@timestamp":"2026-12-05T01:02:03Z","source":{"ip":"10.0.0.1","port":51234},"tags":["a","b"]}}`, nil, true},
		{"nested duplicate", `{"event":{"a":{"b":1,"b":2}}}`, nil, true},
		{"non-ascii, html and escapes", `{"event":{"user.name":"żółw","url":"/a?b=1&c=<2>","p":"C:\\W","k\"":1}}`, nil, true},
		{"empty record", `{"event":{}}`, nil, true},
		{"invalid utf-8", "{\"event\":{\"a\":\"\xff\"}}", nil, false},
		{"duplicate in record", `{"event":{"a":1,"a":2}}`, nil, false},
		{"too deep", `{"event":` + strings.Repeat(`{"a":`, 32) + `1` + strings.Repeat(`}`, 32) + `}`, nil, false},
		{"trailing data", `{"event":{"a":1}} x`, nil, false},
		{"stopped in the record", `{"event":{"a":1,"id.orig_h":"10.0.0.1"}}`, stopAt("id.orig_h"), false},
		{"not stopped below it", `{"event":{"a":{"id.orig_h":"10.0.0.1"}}}`, stopAt("id.orig_h"), true},
		{"stopped in the envelope", `{"event":{"a":1},"fields":{}}`, func(key []byte, record bool) bool { return !record && string(key) == "fields" }, false},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := d.MembersShallow([]byte(tt.line), tt.stop); got != tt.want {
				t.Errorf("MembersShallow(%s) ok = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

// TestFieldsMemo pins when Fields.Memo answers: after SetMemo, for a
// record with the same names in the same order read by the same Decoder
// (whatever its values and however its names were read), and not for
// other names, another order, another Decoder or the zero Fields.
func TestFieldsMemo(t *testing.T) {
	var d, other Decoder
	fields := func(d *Decoder, line string) Fields {
		t.Helper()
		f, _, ok := d.ObjectShallow([]byte(line), nil)
		if !ok {
			t.Fatalf("ObjectShallow(%s) refused", line)
		}
		return f
	}
	memo := FieldsMemo{1, 2, 3}
	fields(&d, `{"a":1,"b":"x"}`).SetMemo(memo)
	tests := []struct {
		name string
		d    *Decoder
		line string
		want bool
	}{
		{"same names, other values", &d, `{"a":[2],"b":{"c":3}}`, true},
		{"same names, white space", &d, `{ "a" : 1 , "b" : 2 }`, true},
		{"same names, one escaped", &d, `{"\u0061":1,"b":2}`, true},
		{"another order", &d, `{"b":1,"a":2}`, false},
		{"one name more", &d, `{"a":1,"b":2,"c":3}`, false},
		{"one name less", &d, `{"a":1}`, false},
		{"another Decoder", &other, `{"a":1,"b":"x"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields(&d, `{"a":1,"b":"x"}`).SetMemo(memo) // each case starts from the memo set
			got, ok := fields(tt.d, tt.line).Memo()
			if ok != tt.want || ok && got != memo {
				t.Errorf("Memo() = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
	if _, ok := (Fields{}).Memo(); ok {
		t.Error("the zero Fields has a memo")
	}
	(Fields{}).SetMemo(memo) // does nothing, does not panic
	members, ok := d.MembersShallow([]byte(`{"event":{"a":5,"b":6},"host":"h"}`), nil)
	if !ok || !members[0].Shallow {
		t.Fatalf("MembersShallow: %v %+v", ok, members)
	}
	if got, ok := members[0].Fields.Memo(); !ok || got != memo {
		t.Errorf("MembersShallow's record: Memo() = %v, %v; want the memo", got, ok)
	}
}

// TestStopAskedOncePerNames: the stop function is asked about a record's
// names until a record went past all of them, and not about a name the
// Decoder predicted from such a record; a new name, a name out of place
// and a Decoder that read the names with no stop function ask again.
func TestStopAskedOncePerNames(t *testing.T) {
	var asked []string
	stop := func(key []byte, record bool) bool {
		if record {
			asked = append(asked, string(key))
		}
		return record && string(key) == "zz"
	}
	var d Decoder
	for _, tt := range []struct {
		line string
		stop StopFunc
		ok   bool
		want string
	}{
		{`{"event":{"a":1,"b":2}}`, stop, true, "a b"},
		{`{"event":{"a":3,"b":4}}`, stop, true, ""},
		{`{"event":{"a":3,"c":4}}`, stop, true, "c"},
		{`{"event":{"a":3,"c":4,"zz":5}}`, stop, false, "zz"},
		{`{"event":{"a":3,"c":4}}`, stop, true, ""},
		{`{"event":{"c":3,"a":4}}`, stop, true, "c a"},
		{`{"event":{"x":1}}`, nil, true, ""},
		{`{"event":{"x":1}}`, stop, true, "x"},
		{`{"event":{"x":2}}`, stop, true, ""},
	} {
		asked = asked[:0]
		if _, ok := d.MembersShallow([]byte(tt.line), tt.stop); ok != tt.ok {
			t.Errorf("MembersShallow(%s) ok = %v, want %v", tt.line, ok, tt.ok)
		}
		if got := strings.Join(asked, " "); got != tt.want {
			t.Errorf("MembersShallow(%s) asked about %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestDecoderShallowCanonical pins one encoding by hand (the one
// TestDecoderCanonical pins for the map mode) and the fields listed.
func TestDecoderShallowCanonical(t *testing.T) {
	var d Decoder
	for range 2 { // the second time through the cached member order
		members, ok := d.MembersShallow([]byte(`{"host":"h","event":{"b":"x<y","a":1.50,"c":{"z":[1,"\u00e9"],"y":null,"y":{}},"A":true,"é":"\/"}}`), nil)
		if !ok || len(members) != 2 || !members[1].Shallow {
			t.Fatalf("MembersShallow: ok %v, %d members", ok, len(members))
		}
		if members[0].Key != "host" || members[0].Value != "h" {
			t.Errorf("first member %q = %#v", members[0].Key, members[0].Value)
		}
		got := string(members[1].Canonical)
		want := `{"A":true,"a":1.50,"b":"x\u003cy","c":{"y":{},"z":[1,"é"]},"é":"/"}`
		if got != want {
			t.Errorf("Canonical = %s, want %s", got, want)
		}
		var names []string
		for i := range members[1].Fields.Len() {
			names = append(names, string(members[1].Fields.Key(i))+"="+string(members[1].Fields.Raw(i)))
		}
		if got, want := fmt.Sprint(names), `[b="x<y" a=1.50 c={"z":[1,"\u00e9"],"y":null,"y":{}} A=true é="\/"]`; got != want {
			t.Errorf("Fields = %s, want %s", got, want)
		}
	}
}

// TestDecoderShallowKeepsEncodings: as TestDecoderKeepsEncodings, for the
// map-free mode's encodings.
func TestDecoderShallowKeepsEncodings(t *testing.T) {
	var d Decoder
	first, ok := d.MembersShallow([]byte(`{"event":{"b":2,"a":{"d":1,"c":[{"f":1,"e":2}]}}}`), nil)
	if !ok {
		t.Fatal("not decoded")
	}
	kept := first[0].Canonical
	want := string(kept)
	if want != `{"a":{"c":[{"e":2,"f":1}],"d":1},"b":2}` {
		t.Fatalf("Canonical = %s", want)
	}
	for i := range 5000 { // past several blocks, failures included
		d.MembersShallow([]byte(fmt.Sprintf(`{"event":{"k%d":"%s","n":{"x":[%d]}}}`, i, strings.Repeat("<", i%300), i)), nil)
		d.MembersShallow([]byte(`{"event":{"a":1,"b":`), nil)
		d.ObjectShallow([]byte(fmt.Sprintf(`{"z":%d}`, i)), nil)
		d.Members([]byte(fmt.Sprintf(`{"event":{"k%d":1}}`, i)))
	}
	if string(kept) != want {
		t.Errorf("kept encoding changed to %s, want %s", kept, want)
	}
}

// TestDecoderShallowMatchesMaps runs the fuzz seeds as a table, so go test
// alone checks them without the fuzz corpus.
func TestDecoderShallowMatchesMaps(t *testing.T) {
	var d, m Decoder
	taken := 0
	for _, s := range append(append([]string{}, decoderSeeds...), shallowSeeds...) {
		members, ok := d.MembersShallow([]byte(s), nil)
		if !ok {
			continue
		}
		taken++
		want, mok := m.Members([]byte(s))
		if !mok {
			t.Fatalf("%s: MembersShallow decodes, Members does not", s)
		}
		sameMembers(t, []byte(s), &d, members, want)
	}
	if taken < 10 {
		t.Errorf("only %d seeds decoded", taken)
	}
}

// FuzzDecoderPredicted checks the map-free mode's shortcuts for a record
// that repeats the last one's names (predictName, recordOrder's cache,
// the encoding copied as written): decoding b right after a, with the
// same Decoder, gives what a fresh Decoder gives for b alone (ok,
// members, canonical encodings, fields), in ObjectShallow (a and b the
// records) and MembersShallow (a and b envelopes); and the same holds
// for b decoded twice in a row.
func FuzzDecoderPredicted(f *testing.F) {
	for _, p := range [][2]string{
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"b":"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"b":"y"}`},
		{`{"a":1,"b":"x"}`, `{"a":3,"b":"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3, "b":"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"b" :"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"ab":"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"b":"y","b":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"c":"y","b":4}`},
		{`{"a":1,"<":"x","c":2}`, `{"a":3,"<":"y","c":4}`},
		{`{"a":1,"\u0062":"x","c":2}`, `{"a":3,"b":"y","c":4}`},
		{`{"a":1,"b":"x","c":2}`, `{"a":3,"\u0062":"y","c":4}`},
		{`{"b":1,"a":"x"}`, `{"b":2,"a":"<"}`},
		{`{"a":{"b":1},"c":[1]}`, `{"a":{"b":2},"c":[2]}`},
		{`{"a":1,"b":2}`, `{"a":1,"b":2`},
		{`{"a":1,"b":2}`, `{"a":1,"b":2}  `},
		{`{"event":{"kdd.duration":0,"kdd.flag":"SF"},"host":"h1"}`, `{"event":{"kdd.duration":2,"kdd.flag":"S0"},"host":"h2"}`},
		{`{"event":{"kdd.duration":0,"kdd.flag":"SF"}}`, `{"event":{"kdd.duration":0,"kdd.flag":"SF","kdd.flag":"S0"}}`},
	} {
		f.Add([]byte(p[0]), []byte(p[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, prev := range [][]byte{a, b} {
			var d, fresh Decoder
			d.ObjectShallow(prev, nil)
			fields, canon, ok := d.ObjectShallow(b, nil)
			wfields, wcanon, wok := fresh.ObjectShallow(b, nil)
			if ok != wok || !bytes.Equal(canon, wcanon) {
				t.Fatalf("%q after %q: ObjectShallow %v %q, fresh decoder %v %q", b, prev, ok, canon, wok, wcanon)
			}
			if ok {
				if fields.Len() != wfields.Len() {
					t.Fatalf("%q after %q: %d fields, fresh decoder %d", b, prev, fields.Len(), wfields.Len())
				}
				for i := range fields.Len() {
					if !bytes.Equal(fields.Key(i), wfields.Key(i)) || !bytes.Equal(fields.Raw(i), wfields.Raw(i)) {
						t.Fatalf("%q after %q: field %d %q %q, fresh decoder %q %q", b, prev, i, fields.Key(i), fields.Raw(i), wfields.Key(i), wfields.Raw(i))
					}
				}
			}
			d, fresh = Decoder{}, Decoder{}
			d.MembersShallow(prev, nil)
			members, ok := d.MembersShallow(b, nil)
			want, wok := fresh.MembersShallow(b, nil)
			if ok != wok {
				t.Fatalf("%q after %q: MembersShallow %v, fresh decoder %v", b, prev, ok, wok)
			}
			if ok {
				if len(members) != len(want) {
					t.Fatalf("%q after %q: %d members, fresh decoder %d", b, prev, len(members), len(want))
				}
				for i := range members {
					g, w := members[i], want[i]
					if g.Key != w.Key || !bytes.Equal(g.Raw, w.Raw) || !bytes.Equal(g.Canonical, w.Canonical) || g.Shallow != w.Shallow || g.Fields.Len() != w.Fields.Len() {
						t.Fatalf("%q after %q: member %d %q %q %q, fresh decoder %q %q %q", b, prev, i, g.Key, g.Raw, g.Canonical, w.Key, w.Raw, w.Canonical)
					}
					for j := range g.Fields.Len() {
						if !bytes.Equal(g.Fields.Key(j), w.Fields.Key(j)) || !bytes.Equal(g.Fields.Raw(j), w.Fields.Raw(j)) {
							t.Fatalf("%q after %q: member %q field %d differs from the fresh decoder's", b, prev, g.Key, j)
						}
					}
				}
			}
		}
	})
}

// TestWrittenIn pins where WrittenIn takes a member's encoding from.
func TestWrittenIn(t *testing.T) {
	input := []byte(`{"event":{"a":1}}`)
	raw := bytes.Clone(input)
	canon := input[9:16]
	tests := []struct {
		name      string
		written   bool
		at        int
		raw       []byte
		wantInRaw bool
	}{
		{"written by the decoder", false, 0, raw, false},
		{"as written, in raw", true, 9, raw, true},
		{"raw too short: copied", true, 9, raw[:10], false},
		{"negative offset: copied", true, -1, raw, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WrittenIn(tt.raw, canon, tt.written, tt.at)
			if !bytes.Equal(got, canon) {
				t.Fatalf("got %q, want %q", got, canon)
			}
			if inRaw := &got[0] == &raw[9]; inRaw != tt.wantInRaw {
				t.Errorf("in raw %v, want %v", inRaw, tt.wantInRaw)
			}
			if inInput := &got[0] == &input[9]; inInput == tt.written {
				t.Errorf("in the input %v (written %v)", inInput, tt.written)
			}
		})
	}
}

// prefixShallowCut is PrefixShallow as it was before it decoded in place:
// the object cut out of b with objectEnd, then decoded alone. It is the
// reference FuzzPrefixShallowInPlace holds PrefixShallow to.
func prefixShallowCut(d *Decoder, b []byte, stop StopFunc) (members []Member, end int, ok bool) {
	end = objectEnd(b)
	if end < 0 {
		return nil, 0, false
	}
	members, ok = d.MembersShallow(b[:end], stop)
	return members, end, ok
}

// prefixSeeds are streams of concatenated envelopes (HEC's), with what
// follows the first object varied: another object, white space, garbage,
// invalid UTF-8, an object that never closes.
var prefixSeeds = [][2]string{
	{`{"event":{"a":1,"b":"x"},"host":"h1"}{"event":{"a":2,"b":"y"},"host":"h2"}`, `{"event":{"a":3,"b":"z"},"host":"h3"}` + "\n" + `{"event":{"a":4}}`},
	{`{"event":{"a":1}}`, "{\"event\":{\"a\":2}}\xff\xfe"},
	{`{"event":{"a":1}}`, "{\"event\":{\"a\":\"\xff\"}}{\"event\":1}"},
	{`{"event":{"b":1,"a":2}}`, `{"event":{"b":1,"a":2}}{"event":{"b":1,"a":2}}`},
	{`{"event":{"a":1}}`, `{"event":{"a":1}`},
	{`{"event":{"a":1}}`, `{"event":{"a":1}} {"event"`},
	{`{"event":{"a":"<"},"fields":{"x":1}}`, `{"event":{"a":"<"},"time":1}xyz`},
	{`{"event":"line"}`, ` {"event":"line"}`},
	{`{"event":{"kdd.duration":0,"kdd.flag":"SF"},"host":"h1"}`, `{"event":{"kdd.duration":2,"kdd.flag":"S0"},"host":"h2"}{"event":{"kdd.flag":"S0"}}`},
}

// FuzzPrefixShallowInPlace checks PrefixShallow, which decodes the object
// at the start of b in place, against the decode of the object cut out
// of b first (prefixShallowCut, as it was): the same outcome and, when it
// decodes, the same end and members (names, values, raw bytes, canonical
// encodings and where they are, fields), with a decoder reused after a
// previous stream a (so the names predicted from the last record, the
// string cache and the block's room taken from the last object's size
// are exercised), and with a stop function as HEC's.
func FuzzPrefixShallowInPlace(f *testing.F) {
	for _, p := range prefixSeeds {
		f.Add([]byte(p[0]), []byte(p[1]))
	}
	for _, s := range append(append([]string{}, decoderSeeds...), shallowSeeds...) {
		f.Add([]byte(s), []byte(s+s))
	}
	stops := []StopFunc{nil, func(key []byte, record bool) bool {
		return !record && string(key) == "fields" || record && string(key) == "event_type"
	}}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, stop := range stops {
			var d, ref Decoder
			d.PrefixShallow(a, stop)
			prefixShallowCut(&ref, a, stop)
			members, end, ok := d.PrefixShallow(b, stop)
			want, wend, wok := prefixShallowCut(&ref, b, stop)
			if ok != wok || ok && end != wend { // end is unspecified when not ok
				t.Fatalf("%q after %q: PrefixShallow %v ends at %d, cut out first %v at %d", b, a, ok, end, wok, wend)
			}
			if !ok {
				continue
			}
			if len(members) != len(want) {
				t.Fatalf("%q: %d members, cut out first %d", b, len(members), len(want))
			}
			for i := range members {
				g, w := members[i], want[i]
				if g.Key != w.Key || !reflect.DeepEqual(g.Value, w.Value) || !bytes.Equal(g.Raw, w.Raw) || &g.Raw[0] != &w.Raw[0] ||
					!bytes.Equal(g.Canonical, w.Canonical) || g.Shallow != w.Shallow || g.Written != w.Written || g.RawAt != w.RawAt {
					t.Fatalf("%q: member %d: %q %#v raw %q canonical %q shallow %v written %v at %d, cut out first %q %#v raw %q canonical %q shallow %v written %v at %d",
						b, i, g.Key, g.Value, g.Raw, g.Canonical, g.Shallow, g.Written, g.RawAt, w.Key, w.Value, w.Raw, w.Canonical, w.Shallow, w.Written, w.RawAt)
				}
				if g.Written && &g.Canonical[0] != &b[g.RawAt] {
					t.Fatalf("%q: member %q written, but its encoding is not in the input at %d", b, g.Key, g.RawAt)
				}
				if g.Fields.Len() != w.Fields.Len() {
					t.Fatalf("%q: member %q: %d fields, cut out first %d", b, g.Key, g.Fields.Len(), w.Fields.Len())
				}
				for j := range g.Fields.Len() {
					if !bytes.Equal(g.Fields.Key(j), w.Fields.Key(j)) || !bytes.Equal(g.Fields.Raw(j), w.Fields.Raw(j)) {
						t.Fatalf("%q: member %q field %d: %q %q, cut out first %q %q", b, g.Key, j, g.Fields.Key(j), g.Fields.Raw(j), w.Fields.Key(j), w.Fields.Raw(j))
					}
				}
			}
		}
	})
}
