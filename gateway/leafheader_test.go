package gateway

import (
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
