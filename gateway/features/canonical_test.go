package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// storedEvent decodes canonical bytes as the store does (numbers as
// json.Number).
func storedEvent(t testing.TB, c []byte) (gateway.Event, bool) {
	var ev gateway.Event
	d := json.NewDecoder(bytes.NewReader(c))
	d.UseNumber()
	if err := d.Decode(&ev); err != nil {
		return ev, false
	}
	return ev, true
}

// canonicalPair returns an event as the store hands it over (decoded
// from its canonical bytes) with those bytes, from any JSON event text.
func canonicalPair(t testing.TB, text []byte) (gateway.Event, []byte, bool) {
	ev, ok := storedEvent(t, text)
	if !ok {
		return ev, nil, false
	}
	c, err := ev.Canonical()
	if err != nil {
		return ev, nil, false
	}
	ev, ok = storedEvent(t, c)
	return ev, c, ok
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestExtractCanonical: reading the fields from the canonical bytes gives
// Extract's vector bit for bit, for every kind of value a field may hold.
func TestExtractCanonical(t *testing.T) {
	e, err := Compile(pathSpec())
	if err != nil {
		t.Fatal(err)
	}
	e.Require([]string{"f0", "f4", "zz"})
	// A required field the encoder escapes: its bytes are never compared
	// directly (plainKeys false).
	esc, err := Compile(pathSpec())
	if err != nil {
		t.Fatal(err)
	}
	esc.Require([]string{"f<", "f1"})
	// An empty field name is a valid JSON member name: requiring it must
	// not index its first byte (it once panicked).
	empty, err := Compile(pathSpec())
	if err != nil {
		t.Fatal(err)
	}
	empty.Require([]string{"", "f0"})
	for _, tc := range []struct {
		name, event string
	}{
		{"numbers", `{"class":"flow","fields":{"f0":1,"f1":2.5,"f2":-3,"f3":1e400,"f9":123456789012345678901234}}`},
		{"strings", `{"class":"dns","fields":{"f0":" 4 ","f4":"TCP","f5":"b","f6":"yes","f7":"Qx7.example.com","f8":"mail.google.co.uk","f9":"x"}}`},
		{"escapes", `{"fields":{"f4":"u\u0044p","f7":"a\"b\\c.com","f0":"\u0031\u0032"}}`},
		{"literals", `{"fields":{"f0":true,"f1":false,"f2":null,"f6":true,"f4":null,"f5":false}}`},
		{"nested", `{"fields":{"f0":{"a":1},"f4":["tcp"],"f6":{"x":[1,"yes"]},"f7":[1,2]}}`},
		{"escaped key sorts elsewhere", `{"fields":{"f\u003c":1,"f0":2,"f9":3}}`},
		{"no fields", `{"class":"flow"}`},
		{"null fields", `{"class":"flow","fields":null}`},
		{"invalid utf-8 kept by the decoder as U+FFFD", "{\"fields\":{\"f7\":\"ab\xffc\",\"f4\":\"\xfe\"}}"},
		{"other keys before and after", `{"fields":{"a":[{"}":"]"}],"f1":7,"f10":8,"f1z":"\"","f2":9,"zz":{}},"raw":"AAAA","labels":{"k":"v"}}`},
		{"header strings holding the header's keys", `{"source":",\"class\":\"x\",\"fields\":{","host":",\"class\":","class":"fl\"ow,\"fields\":","fields":{"f0":1,"f1":2}}`},
		{"no fields, a label named fields", `{"class":"flow","labels":{"a":"b","fields":"{\"f0\":1}"}}`},
		{"required present, one null", `{"fields":{"f0":1,"f4":"tcp","zz":null,"f<":2,"f1":3}}`},
		{"required key is a prefix of a longer key", `{"fields":{"f0":1,"f0x":2,"f4":"tcp","f4 ":3,"zz":1}}`},
		{"required key absent, longer one present", `{"fields":{"f0x":1,"f4":"tcp","zz":1}}`},
		{"an empty field name", `{"fields":{"":1,"f0":2,"f4":"tcp"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, c, ok := canonicalPair(t, []byte(tc.event))
			if !ok {
				t.Fatalf("test event does not decode: %s", tc.event)
			}
			want := make([]float32, e.Width())
			e.Extract(&ev, want)
			got := make([]float32, e.Width())
			for _, e := range []*Engine{e, esc, empty} {
				e.Extract(&ev, want)
				e.tailMiss.Store(false) // read the end of "fields" first (tryTail)
				req := e.ExtractCanonical(&ev, c, got)
				if want := e.hasRequired(&ev); req != want {
					t.Errorf("required %v in %s: got %v, want %v", e.required, c, req, want)
				}
				if req && !sameBits(got, want) { // without a required field: undefined
					t.Errorf("canonical %s:\ngot  %v\nwant %v", c, got, want)
				}
			}
		})
	}
}

// FuzzExtractCanonical: for any event the store could hold, the vector
// read from its canonical bytes equals Extract's on the decoded event;
// and bytes that are not the event's encoding never panic.
func FuzzExtractCanonical(f *testing.F) {
	f.Add([]byte(`{"class":"flow","fields":{"f0":1,"f1":"2.5","f4":"TCP","f7":"a.b.example.com","f9":true}}`))
	f.Add([]byte(`{"fields":{"f0":{"x":"}"},"f6":["yes"],"f8":"\u00e9t\u00e9.fr","f5":null}}`))
	f.Add([]byte(`{"sourcetype":"x","fields":{"f3":-0,"f2":1E+2,"f\"":1,"f1":0.1000000000000000055511151231257827}}`))
	f.Add([]byte("{\"fields\":{\"f7\":\"\xff\xfe.com\"}}"))
	f.Add([]byte(`{"fields":{"f1":null,"f1x":2,"f5":"a","f9":1,"f9z":{}}}`))
	f.Add([]byte(`{"fields":{"a":1,"f7":"x\"y","f8":"\\","f9":{"k":"}"},"f9z":[1,{"m":"]"}]},"raw":"AAEC"}`))
	f.Add([]byte(`{"fields":{"f0":1,"f9":2},"labels":{"f9":"x"}}`))
	f.Add([]byte(`{"class":"flow","fields":{"f0":0,"f1":12.5,"f2":-3,"f3":1234567.0625,"f4":1,"f5":"7","f6":0.333333333333333314829616256247,"f9":1e3,"w05":42,"w64":0.5}}`))
	f.Add([]byte(`{"fields":{"f0":0,"f1":5,"f2":-0,"f3":7.0,"f4":1,"f5":9,"f6":0.5,"f9":3}}`)) // one-digit numbers, the last before "}"
	f.Add([]byte(`{"fields":{"f0":1,"f1":0e1,"f3":9,"f9":0,"w05":4}}`))
	e, err := Compile(pathSpec())
	if err != nil {
		f.Fatal(err)
	}
	e.Require([]string{"f1", "f5", "f9z"})
	engines := []*Engine{e, flowShaped(f, 20), flowShaped(f, 70)}
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, e := range engines {
			got := make([]float32, e.Width())
			ev, _ := storedEvent(t, text)
			e.ExtractCanonical(&ev, text, got) // not its canonical bytes: no panic
			ev, c, ok := canonicalPair(t, text)
			if !ok {
				return
			}
			want := make([]float32, e.Width())
			e.Extract(&ev, want)
			e.tailMiss.Store(len(c)%2 == 0) // both readers, whatever the last event taught the engine (tryTail)
			req := e.ExtractCanonical(&ev, c, got)
			if want := e.hasRequired(&ev); req != want {
				t.Errorf("required %v in %s: got %v, want %v", e.required, c, req, want)
			}
			if req && !sameBits(got, want) { // without a required field: undefined
				t.Errorf("canonical %s:\ngot  %v\nwant %v", c, got, want)
			}
		}
	})
}

// flowShaped returns an engine shaped like the served flow models: a
// log1p-only and a plain numeric feature on each of f0–f9, a categorical
// one on f4, and more log1p features on fields w00… up to keys fields in
// all (past fewKeys and flowKeys, extractBytes' smaller arrays), two of
// them required.
func flowShaped(tb testing.TB, keys int) *Engine {
	var fs []Feature
	for i := range 10 {
		fs = append(fs,
			Feature{Name: fmt.Sprintf("l%d", i), Kind: KindNumeric, Field: fmt.Sprintf("f%d", i), Default: 3, Transforms: []Transform{{Op: "log1p"}}},
			Feature{Name: fmt.Sprintf("p%d", i), Kind: KindNumeric, Field: fmt.Sprintf("f%d", i)})
	}
	fs = append(fs, Feature{Name: "c", Kind: KindCategorical, Field: "f4", Vocab: []string{"tcp", "1"}, Other: true})
	for i := range keys - 10 {
		fs = append(fs, Feature{Name: fmt.Sprintf("w%02d", i), Kind: KindNumeric, Field: fmt.Sprintf("w%02d", i), Transforms: []Transform{{Op: "log1p"}}})
	}
	e, err := Compile(Spec{Features: fs})
	if err != nil {
		tb.Fatal(err)
	}
	e.Require([]string{"f0", "f3"})
	return e
}

// BenchmarkExtractCanonical compares the two ways of reading one event's
// features on a 41-number flow record: from the decoded map (Extract) and
// from the canonical bytes (ExtractCanonical).
func BenchmarkExtractCanonical(b *testing.B) {
	var fs []Feature
	fields := map[string]any{}
	for i := range 41 {
		name := "kdd.f" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		fs = append(fs, Feature{Name: name, Kind: KindNumeric, Field: name, Transforms: []Transform{{Op: "log1p"}}})
		fields[name] = json.Number("0.06")
	}
	e, err := Compile(Spec{Features: fs})
	if err != nil {
		b.Fatal(err)
	}
	ev := gateway.Event{Class: gateway.ClassFlow, Fields: fields, Raw: bytes.Repeat([]byte("x"), 200)}
	c, err := ev.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, e.Width())
	b.Run("map", func(b *testing.B) {
		cpu0 := cpuTime(b)
		for b.Loop() {
			e.Extract(&ev, dst)
		}
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	})
	b.Run("canonical", func(b *testing.B) {
		cpu0 := cpuTime(b)
		for b.Loop() {
			e.ExtractCanonical(&ev, c, dst)
		}
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	})
}

// cpuTime is the process's user+system CPU time so far: on a shared
// machine, CPU time per operation is what other load does not distort.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSkipHeader: the header of canonical events is skipped by search,
// landing on the "fields" object (or reporting none), whatever the header
// strings hold; bytes of another shape are left to the key-by-key reader.
func TestSkipHeader(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		want        string // the bytes from the answer on, "" for no fields, "refused"
	}{
		{"fields", `{"class":"flow","fields":{"f0":1}}`, `{"f0":1}`},
		{"header strings holding the header's keys", `{"source":",\"class\":\"x\",\"fields\":{","host":",\"class\":","class":"fl\"ow,\"fields\":","fields":{"f1":2}}`, `{"f1":2}`},
		{"no fields, a label named fields", `{"class":"flow","labels":{"fields":"x"}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, ok := canonicalPair(t, []byte(tc.event))
			if !ok {
				t.Fatalf("test event does not decode: %s", tc.event)
			}
			i, ok := skipHeader(c)
			got := "refused"
			switch {
			case ok && i < 0:
				got = ""
			case ok:
				end, _ := gateway.SkipJSONValue(c, i)
				got = string(c[i:end])
			}
			if got != tc.want {
				t.Errorf("skipHeader(%s) = %q, want %q", c, got, tc.want)
			}
		})
	}
	for _, b := range []string{`{"fields":{"f0":1}}`, `{"class":1,"fields":{}}`, `{"class":"x" ,"fields":{}}`, `,"class":"`} {
		if _, ok := skipHeader([]byte(b)); ok {
			t.Errorf("skipHeader(%s) accepted bytes of another shape", b)
		}
	}
}

// TestMinHeader: minHeader never passes the class key, whatever the
// header holds (escapes, host, index, zones, long ids), and searching
// from it finds what searching from the start finds.
func TestMinHeader(t *testing.T) {
	for _, text := range []string{
		`{"class":"flow","fields":{"f0":1}}`,
		`{"id":"` + strings.Repeat("ab", 32) + `","seq":18446744073709551615,"received":"2026-12-05T11:30:00.123456789+05:45","time":"0001-01-01T00:00:00Z","source":"10.0.0.1:514","sourcetype":"zeek:conn","host":"h<1>","index":"main","class":"flow","fields":{"a":"b"}}`,
		`{"source":",\"class\":\"x\",\"fields\":{","host":",\"class\":","class":"fl\"ow,\"fields\":","fields":{"f1":2}}`,
		`{"id":"\u00e9\u2028","index":"\u0000&","class":"dns","raw":"AAEC"}`,
		`{"time":"9999-12-31T10:59:59.999999999-12:00","class":"flow"}`,
	} {
		ev, c, ok := canonicalPair(t, []byte(text))
		if !ok {
			t.Fatalf("test event does not decode: %s", text)
		}
		at := bytes.Index(c, classKey)
		if m := minHeader(&ev); m > at || m < 0 {
			t.Errorf("minHeader(%s) = %d, the class key is at %d", c, m, at)
		}
		i, ok := skipHeader(c)
		j, ok2 := skipHeaderFrom(c, minHeader(&ev))
		if i != j || ok != ok2 {
			t.Errorf("skipHeaderFrom(%s, minHeader) = %d, %v; skipHeader %d, %v", c, j, ok2, i, ok)
		}
	}
}

// TestMemberAt compares memberAt with a string comparison on members of
// every length up to 40 bytes against equal bytes and bytes differing in
// any one position.
func TestMemberAt(t *testing.T) {
	for n := 0; n <= 40; n++ {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte('a' + i%26)
		}
		for at := -1; at < n; at++ {
			b := append([]byte("xx"), m...)
			b = append(b, `":1}`...)
			if at >= 0 {
				b[2+at] ^= 0x20
			}
			got, want := memberAt(b, 2, string(m)), string(b[2:2+n]) == string(m)
			if got != want {
				t.Errorf("member of %d bytes, differing at %d: got %v, want %v", n, at, got, want)
			}
		}
	}
}
