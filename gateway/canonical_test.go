package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
)

// marshalled is the definition Canonical must meet: encoding/json's
// encoding of the event with its times in UTC.
func marshalled(t *testing.T, e Event) []byte {
	t.Helper()
	e.Received, e.Time = e.Received.UTC(), e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

func TestCanonicalMatchesMarshal(t *testing.T) {
	base := Event{
		ID: "ab", Seq: 7, Source: "s", Sourcetype: "zeek:conn", Class: ClassFlow,
		Received: time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC),
		Time:     time.Date(2026, 12, 5, 4, 4, 5, 0, time.FixedZone("x", 3600)),
		Raw:      []byte("raw line"),
	}
	with := func(f func(e *Event)) Event {
		e := base
		f(&e)
		return e
	}
	tests := []struct {
		name string
		ev   Event
	}{
		{"minimal", base},
		{"time is received", with(func(e *Event) { e.Time = e.Received.In(time.FixedZone("x", -5400)) })},
		{"time is received, whole seconds", with(func(e *Event) {
			e.Received = time.Date(2026, 12, 5, 3, 4, 5, 0, time.UTC)
			e.Time = e.Received
		})},
		{"time a nanosecond after received", with(func(e *Event) { e.Time = e.Received.Add(1) })},
		{"nil raw", with(func(e *Event) { e.Raw = nil })},
		{"empty raw", with(func(e *Event) { e.Raw = []byte{} })},
		{"host index labels", with(func(e *Event) {
			e.Host, e.Index, e.Labels = "h<1>", "idx", map[string]string{"b": "2", "a": "é", "&": "\u2028"}
		})},
		{"empty maps omitted", with(func(e *Event) { e.Fields, e.Labels = map[string]any{}, map[string]string{} })},
		{"numbers", with(func(e *Event) {
			e.Fields = map[string]any{"n": json.Number("-1.5e+07"), "f": 1e21, "g": 1e-7, "h": 0.000001, "i": -0.0, "j": 123456789.125,
				"k": 3, "l": int64(-4), "m": uint64(math.MaxUint64), "o": int32(5), "p": uint32(6), "q": float32(1.5), "r": int8(-2)}
		})},
		{"strings", with(func(e *Event) {
			e.Fields = map[string]any{"ctl": "a\x00b\tc\n\u007f", "html": "<a href=\"x\">&</a>", "utf8": "żółw ✓", "bad": "\xff\xfe", "sep": "\u2028\u2029", "": "empty key", "k\"ey": `back\slash`}
		})},
		{"nested", with(func(e *Event) {
			e.Fields = map[string]any{"a": []any{1.0, "x", nil, true, map[string]any{"z": 1.0, "y": []any{}}}, "b": map[string]string{"q": "r"},
				"c": []string{"u", "v"}, "d": []string(nil), "e": []any(nil), "f": map[string]any(nil), "t": time.Date(2020, 1, 2, 3, 4, 5, 6, time.FixedZone("y", -7200))}
		})},
		{"deep", with(func(e *Event) {
			var v any = "leaf"
			for range canonicalDepth + 5 {
				v = map[string]any{"d": v}
			}
			e.Fields = map[string]any{"deep": v}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ev.Canonical()
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if want := marshalled(t, tt.ev); !bytes.Equal(got, want) {
				t.Errorf("Canonical =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCanonicalErrorsAsMarshal(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"NaN", Event{Fields: map[string]any{"x": math.NaN()}}},
		{"infinity in a slice", Event{Fields: map[string]any{"x": []any{math.Inf(1)}}}},
		{"bad number", Event{Fields: map[string]any{"x": json.Number("01")}}},
		{"channel", Event{Fields: map[string]any{"x": make(chan int)}}},
		{"year 10000", Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.ev.Canonical(); err == nil {
				t.Fatal("Canonical succeeded, want encoding/json's error")
			}
		})
	}
}

// TestCanonicalKnowsEveryField fails when Event gains, loses or renames a
// field: appendCanonical writes the fields by name and must be updated
// with the struct.
func TestCanonicalKnowsEveryField(t *testing.T) {
	want := []string{"id", "seq", "received", "time", "source", "sourcetype", "host,omitempty", "index,omitempty",
		"class", "fields,omitempty", "raw", "labels,omitempty", "-"}
	var got []string
	rt := reflect.TypeFor[Event]()
	for i := range rt.NumField() {
		got = append(got, rt.Field(i).Tag.Get("json"))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Event's json tags = %v, appendCanonical writes %v: update canonical.go", got, want)
	}
}

// FuzzCanonical: for fields as a JSON decoder produces them (numbers as
// json.Number or float64), any strings and any time, Canonical is
// encoding/json's encoding, and fails exactly when encoding/json does.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1.5e-9,"x<",{"c":null,"d":true}],"\u00e9":"\u2028"}`), "host", "raw\x00", int64(1764900000), int64(5), 3600, false)
	f.Add([]byte(`{"n":-0.0,"m":1e300}`), "", "", int64(-62167219200), int64(0), 60, true)
	f.Fuzz(func(t *testing.T, fields []byte, host, raw string, sec, nsec int64, offset int, useFloat bool) {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(fields))
		if !useFloat {
			d.UseNumber()
		}
		if d.Decode(&m) != nil {
			m = nil
		}
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", offset%100000))
		ev := Event{ID: host + raw, Seq: uint64(sec), Time: tm, Received: time.Unix(nsec, 0), Source: raw, Sourcetype: host,
			Host: host, Class: Class(raw), Fields: m, Raw: []byte(raw), Labels: map[string]string{host: raw}}
		got, gerr := ev.Canonical()
		ev.Received, ev.Time = ev.Received.UTC(), ev.Time.UTC()
		want, werr := json.Marshal(ev)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("Canonical error %v, encoding/json error %v", gerr, werr)
		}
		if gerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("Canonical =\n%q\nencoding/json\n%q", got, want)
		}
		// The time as the receive time, in its own zone (the encoder
		// copies the received's text for the same instant).
		same := ev
		same.Received = tm
		got, gerr = same.Canonical()
		same.Received = same.Received.UTC()
		want, werr = json.Marshal(same)
		if (gerr == nil) != (werr == nil) || gerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("time as received: Canonical =\n%q (%v)\nencoding/json\n%q (%v)", got, gerr, want, werr)
		}
		// The ingest shape (no labels, the fields as FieldsCanonical,
		// which canonicalSize sizes): the same bytes as encoding/json
		// writes for the fields as a map.
		ev.Labels = nil
		want, werr = json.Marshal(ev)
		if werr != nil {
			return
		}
		if ev.Fields != nil {
			fc, err := json.Marshal(ev.Fields)
			if err != nil {
				t.Fatal(err)
			}
			ev.Fields, ev.FieldsCanonical = nil, fc
		}
		if got, gerr = ev.Canonical(); gerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("ingest shape: Canonical =\n%q (%v)\nencoding/json\n%q", got, gerr, want)
		}
		// The ingest shape of an event with no time of its own.
		same.Labels, same.Fields, same.FieldsCanonical = nil, ev.Fields, ev.FieldsCanonical
		if want, werr = json.Marshal(Event{ID: same.ID, Seq: same.Seq, Received: same.Received, Time: same.Time, Source: same.Source,
			Sourcetype: same.Sourcetype, Host: same.Host, Class: same.Class, Fields: m, Raw: same.Raw}); werr != nil {
			return
		}
		if got, gerr = same.Canonical(); gerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("ingest shape, time as received: Canonical =\n%q (%v)\nencoding/json\n%q", got, gerr, want)
		}
	})
}

func BenchmarkCanonical(b *testing.B) {
	fields := map[string]any{}
	for i, k := range []string{"duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land", "wrong_fragment", "urgent", "hot",
		"num_failed_logins", "logged_in", "num_compromised", "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
		"num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count", "srv_count", "serror_rate", "srv_serror_rate",
		"rerror_rate", "srv_rerror_rate", "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count", "dst_host_srv_count",
		"dst_host_same_srv_rate", "dst_host_diff_srv_rate", "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate",
		"dst_host_serror_rate", "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate"} {
		if i%5 == 1 {
			fields[k] = "tcp"
		} else {
			fields[k] = json.Number("0.25")
		}
	}
	ev := Event{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Received: time.Now(), Time: time.Now(),
		Source: "bench", Sourcetype: "nsl-kdd", Host: "sensor-01", Class: ClassFlow, Fields: fields, Raw: bytes.Repeat([]byte("x"), 600)}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := ev.Canonical(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The ingest shape (fields as FieldsCanonical), sized exactly
	// (Canonical) and through the pooled scratch buffer it used before,
	// in CPU ns per event: the box is shared.
	ingest := ev
	var err error
	if ingest.FieldsCanonical, err = json.Marshal(fields); err != nil {
		b.Fatal(err)
	}
	ingest.Fields = nil
	ingest.Received, ingest.Time = ingest.Received.UTC(), ingest.Time.UTC()
	for _, bc := range []struct {
		name string
		enc  func() bool
	}{
		{"ingest-exact", func() bool { _, err := ingest.Canonical(); return err == nil }},
		{"ingest-pooled", func() bool { _, ok := canonicalPooled(&ingest); return ok }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				if !bc.enc() {
					b.Fatal("not encoded")
				}
			}
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		})
	}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCanonicalSize: canonicalSize gives the encoding's exact length
// for the shape ingest produces (seqs and times of every digit count),
// and refuses the shapes it does not size.
func TestCanonicalSize(t *testing.T) {
	base := Event{ID: "0123456789abcdef", Source: "syslog", Sourcetype: "linux:auth", Class: ClassAuth,
		FieldsCanonical: []byte(`{"a":1,"b":"x"}`), Raw: []byte("raw line")}
	tests := []struct {
		name string
		edit func(*Event)
		ok   bool
	}{
		{"ingest shape", func(*Event) {}, true},
		{"host and index", func(e *Event) { e.Host, e.Index = "h1", "main" }, true},
		{"no fields", func(e *Event) { e.FieldsCanonical = nil }, true},
		{"empty fields", func(e *Event) { e.FieldsCanonical = []byte("{}") }, true},
		{"nil raw", func(e *Event) { e.Raw = nil }, true},
		{"empty raw", func(e *Event) { e.Raw = []byte{} }, true},
		{"labels", func(e *Event) { e.Labels = map[string]string{"k": "v"} }, false},
		{"fields as a map", func(e *Event) { e.FieldsCanonical, e.Fields = nil, map[string]any{"a": 1} }, false},
		{"escaped source", func(e *Event) { e.Source = "a<b" }, false},
		{"escaped host", func(e *Event) { e.Host = "é" }, false},
		{"time out of range", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
	}
	// Every raw length mod 3, and both sides of the 8-byte steps of
	// appendBase64.
	for n := 1; n <= 13; n++ {
		tests = append(tests, struct {
			name string
			edit func(*Event)
			ok   bool
		}{fmt.Sprintf("raw of %d bytes", n), func(e *Event) { e.Raw = []byte("abcdefghijklm")[:n] }, true})
	}
	for _, tc := range tests {
		for _, seq := range []uint64{0, 9, 10, 12345, math.MaxUint64} {
			for _, ns := range []int{0, 1, 10, 120, 123456789, 500000000} {
				e := base
				e.Seq = seq
				e.Received = time.Date(2026, 12, 5, 19, 0, 0, ns, time.UTC)
				e.Time = time.Date(1, 2, 3, 4, 5, 6, ns/10, time.UTC)
				tc.edit(&e)
				n, ok := canonicalSize(&e)
				if ok != tc.ok {
					t.Fatalf("%s: canonicalSize ok = %v, want %v", tc.name, ok, tc.ok)
				}
				got, err := e.Canonical()
				if err != nil {
					if tc.ok {
						t.Fatalf("%s: Canonical: %v", tc.name, err)
					}
					continue
				}
				m := e // what encoding/json writes: the fields decoded
				if m.Fields, err = m.FieldValues(); err != nil {
					t.Fatal(err)
				}
				m.FieldsCanonical = nil
				if want, _ := json.Marshal(m); !bytes.Equal(got, want) {
					t.Fatalf("%s: Canonical =\n%s\nencoding/json\n%s", tc.name, got, want)
				}
				if ok && (n != len(got) || cap(got) != len(got)) {
					t.Fatalf("%s (seq %d, ns %d): canonicalSize = %d, Canonical gave %d bytes (cap %d)", tc.name, seq, ns, n, len(got), cap(got))
				}
			}
		}
	}
}

// TestPlainByte checks plainJSON's table on every byte against the rule
// as written out before it (printable ASCII but `"`, `\`, `<`, `>`, `&`)
// and against encoding/json, which writes those bytes unchanged between
// quotes (and DEL too: the rule leaves it to encoding/json); and that one byte outside the rule anywhere in a string
// makes the string not plain.
func TestPlainByte(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		want := !(b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&')
		if got := plainJSON(string([]byte{b})); got != want {
			t.Errorf("plainJSON(%q) = %v, want %v", b, got, want)
		}
		m, err := json.Marshal(string([]byte{b}))
		if err != nil {
			t.Fatal(err)
		}
		if unchanged := string(m) == `"`+string([]byte{b})+`"`; want && !unchanged {
			t.Errorf("byte %#x: plain, but encoding/json writes %s", b, m)
		}
		if !want && (plainJSON("abc"+string([]byte{b})) || plainJSON(string([]byte{b})+"abc") || plainJSON("a"+string([]byte{b})+"b")) {
			t.Errorf("byte %#x inside a string: plain", b)
		}
	}
	if !plainJSON("") || !plainJSON("sensor-01 http:test") {
		t.Error("plain strings not plain")
	}
}
