package gateway

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestReadHeaderShapes: what ReadHeader reads and what it leaves to a
// decoder.
func TestReadHeaderShapes(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 3, 4, 5, 6, time.UTC)
	ev := Event{ID: "i", Seq: 12, Received: t0, Time: t0, Source: "s", Sourcetype: "st", Host: "h", Class: ClassFlow, Fields: map[string]any{"a": "b"}}
	c, err := ev.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ReadHeader(c, nil)
	want := ev
	want.Fields = nil
	if !ok || got.ID != want.ID || got.Seq != 12 || !got.Time.Equal(t0) || got.Host != "h" || got.Class != ClassFlow || got.Fields != nil {
		t.Errorf("ReadHeader(%s) = %+v, %v", c, got, ok)
	}
	s := string(c)
	for _, tc := range []struct{ name, b string }{
		{"empty", ""},
		{"not an event", "null"},
		{"truncated", s[:40]},
		{"leading zero seq", strings.Replace(s, `"seq":12`, `"seq":012`, 1)},
		{"seq overflows", strings.Replace(s, `"seq":12`, `"seq":18446744073709551616`, 1)},
		{"escaped source", strings.Replace(s, `"source":"s"`, `"source":"\u0073"`, 1)},
		{"bad time", strings.Replace(s, `"time":"2026`, `"time":"x026`, 1)},
		{"unknown member after class", strings.Replace(s, `,"fields":`, `,"other":`, 1)},
	} {
		if _, ok := ReadHeader([]byte(tc.b), nil); ok {
			t.Errorf("%s: ReadHeader(%s) read it", tc.name, tc.b)
		}
	}
}

// TestEachField: the members of "fields" in order, and the shapes left
// to a decoder.
func TestEachField(t *testing.T) {
	head := `{"id":"i","seq":1,"received":"2026-12-05T03:04:05Z","time":"2026-12-05T03:04:05Z","source":"s,\"class\":","sourcetype":"t","class":"c"`
	tests := []struct {
		name string
		b    string
		want string // key=value;...
		ok   bool
	}{
		{"no fields", head + `,"raw":null}`, "", true},
		{"empty fields", head + `,"fields":{},"raw":null}`, "", true},
		{"members", head + `,"fields":{"a":1,"b":"x\"}","c":[1,{"d":"]"}],"e":{"f":null}},"raw":null}`, `a=1;b="x\"}";c=[1,{"d":"]"}];e={"f":null};`, true},
		{"escaped key", head + `,"fields":{"a\u0062":1},"raw":null}`, "", false},
		{"truncated", head + `,"fields":{"a":[1,2`, "", false},
		{"no class", `{"id":"i"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			ok := EachField([]byte(tt.b), func(k, v []byte) { got.WriteString(string(k) + "=" + string(v) + ";") })
			if ok != tt.ok || (ok && got.String() != tt.want) {
				t.Errorf("EachField = %q, %v; want %q, %v", got.String(), ok, tt.want, tt.ok)
			}
		})
	}
}

// TestInterner: equal bytes give the one string, up to the bound.
func TestInterner(t *testing.T) {
	in := NewInterner(1)
	a, b := in.Intern([]byte("host")), in.Intern([]byte("host"))
	if a != "host" || b != "host" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("Intern gave %q and %q, not one shared string", a, b)
	}
	if len(in.m) != 1 {
		t.Errorf("holds %d strings, want 1", len(in.m))
	}
	if c := in.Intern([]byte("other")); c != "other" || len(in.m) != 1 {
		t.Errorf("past the bound: %q, holds %d", c, len(in.m))
	}
}

// TestInternerCache: the recent-strings cache returns strings equal to
// the bytes, however the bytes collide in it.
func TestInternerCache(t *testing.T) {
	in := NewInterner(2)
	for range 3 {
		for _, s := range []string{"", "a", "b", "ab", "ba", "flow", "nsl-kdd", "host1", "host2", "hosu1", "x"} {
			if got := in.Intern([]byte(s)); got != s {
				t.Errorf("Intern(%q) = %q", s, got)
			}
		}
	}
}

// TestParseUTC: the layouts parseUTC reads, and those it leaves to
// time.Time.UnmarshalJSON; what it reads equals UnmarshalJSON's time.
func TestParseUTC(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"2026-12-05T10:00:00Z", true},
		{"2026-12-05T10:00:00.1Z", true},
		{"2026-12-05T10:00:00.000000001Z", true},
		{"2024-02-29T23:59:59.999999999Z", true},
		{"0000-01-01T00:00:00Z", true},
		{"2026-12-05T10:00:00.0000000001Z", false}, // ten digits
		{"2026-12-05T10:00:00.Z", false},
		{"2026-12-05T10:00:00+01:00", false},
		{"2026-12-05T10:00:00.5+00:00", false},
		{"2025-02-29T00:00:00Z", false},
		{"2026-13-05T10:00:00Z", false},
		{"2026-12-05T24:00:00Z", false},
		{"2026-12-05T10:60:00Z", false},
		{"2026-12-05T10:00:60Z", false},
		{"2026-12-05t10:00:00Z", false},
		{"2026-12-0xT10:00:00Z", false},
		{"2026-12-05T10:00:00z", false},
	} {
		if _, ok := parseUTC([]byte(tc.s)); ok != tc.ok {
			t.Errorf("parseUTC(%s) ok = %v, want %v", tc.s, ok, tc.ok)
		}
		checkParseUTC(t, tc.s)
	}
}

// checkParseUTC fails t if parseUTC reads s and UnmarshalJSON refuses it
// or reads another time.
func checkParseUTC(t *testing.T, s string) {
	t.Helper()
	got, ok := parseUTC([]byte(s))
	if !ok {
		return
	}
	var want time.Time
	if err := want.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
		t.Fatalf("parseUTC(%s) = %v, UnmarshalJSON refuses it: %v", s, got, err)
	}
	if got != want || got.Location() != want.Location() {
		t.Fatalf("parseUTC(%s) = %#v, UnmarshalJSON %#v", s, got, want)
	}
}

// FuzzParseUTC: whatever parseUTC reads, UnmarshalJSON reads as the same
// time (== on time.Time: same instant, wall clock and location).
func FuzzParseUTC(f *testing.F) {
	for _, s := range []string{"2026-12-05T10:00:00Z", "2026-12-05T10:00:00.123456789Z", "2024-02-29T00:00:00.5Z", "2026-12-05T10:00:00+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParseUTC(t, s)
		// Vary the digits of a valid time too, which random strings
		// rarely reach.
		if len(s) >= 14 {
			b := []byte("2026-12-05T10:00:00.000000000Z")
			for i, j := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23} {
				if i < len(s) {
					b[j] = '0' + s[i]%10
				}
			}
			checkParseUTC(t, string(b))
			checkParseUTC(t, string(b[:19])+"Z")
		}
	})
}

// BenchmarkReadHeader reads the header of a flow record's canonical
// bytes as the store's HeaderLeaves does (one Interner per range).
func BenchmarkReadHeader(b *testing.B) {
	t0 := time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC)
	ev := Event{ID: strings.Repeat("ab", 32), Seq: 1234567, Received: t0, Time: t0.Add(-time.Second), Source: "ndjson", Sourcetype: "nsl-kdd",
		Host: "bench-client", Class: ClassFlow, Fields: map[string]any{"a": "b"}}
	c, err := ev.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	in := NewInterner(1024)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, ok := ReadHeader(c, in.Intern); !ok {
			b.Fatal("not read")
		}
	}
	// CPU time, which other load on a shared machine does not stretch.
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// TestPlainWord: plainWord agrees with a byte-by-byte check on every byte
// value at every position, among plain neighbours and beside another
// byte of each kind.
func TestPlainWord(t *testing.T) {
	plain := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	for _, fill := range []byte{'a', 0x20, 0x7f, '0', '!', '#', '[', ']', 0x1f, 0x80, 0xff, '"', '\\'} {
		for pos := range 8 {
			for c := range 256 {
				w := []byte("aaaaaaaa")
				w[(pos+3)%8] = fill
				w[pos] = byte(c)
				if got, want := plainWord(binary.LittleEndian.Uint64(w)), plain(w); got != want {
					t.Fatalf("plainWord(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}
