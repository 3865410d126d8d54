package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestEventIDOccurrence(t *testing.T) {
	raw := []byte("Failed password for root")
	tests := []struct {
		name       string
		a, b       string // occurrences
		wantSameID bool
	}{
		{"no occurrence is the content id", "", "", true},
		{"same key and position", "key:k#0", "key:k#0", true},
		{"another position", "key:k#0", "key:k#1", false},
		{"another key", "key:k#0", "key:j#0", false},
		{"occurrence vs none", "key:k#0", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EventID("s", "st", raw, tt.a) == EventID("s", "st", raw, tt.b)
			if got != tt.wantSameID {
				t.Errorf("same id = %v, want %v", got, tt.wantSameID)
			}
		})
	}
	if got, want := EventID("s", "st", raw, ""), ComputeID("s", "st", raw); got != want {
		t.Errorf("EventID without occurrence = %s, want ComputeID %s", got, want)
	}
	// Length prefixes: moving bytes between raw and occurrence changes the id.
	if EventID("s", "st", []byte("ab"), "c") == EventID("s", "st", []byte("a"), "bc") {
		t.Error("raw/occurrence boundary is ambiguous")
	}
}

// TestEventIDGolden pins ids computed independently (SHA-256 over each
// part prefixed with its length as 8 bytes big-endian, in Python's
// hashlib): ids are stored and sent back, so how they are computed may
// change but never what they are.
func TestEventIDGolden(t *testing.T) {
	tests := []struct {
		source, sourcetype string
		raw                []byte
		occurrence, want   string
	}{
		{"api", "nsl-kdd", []byte(`{"event":{"a":1}}`), "", "80d77ca576495c7020994b3d4ce4c1aebe80b178d487f008f861a8e5841d4621"},
		{"api", "nsl-kdd", []byte(`{"event":{"a":1}}`), "k#3", "4aa71f005462d1fd0402b4820bd48a082a3a9310625f03991c59dda0f14a7e5f"},
		{"", "", nil, "", "9d908ecfb6b256def8b49a7c504e6c889c4b0e41fe6ce3e01863dd7b61a20aa0"},
		{"é", "", []byte{0xff, 0}, "_id:4:logs/7", "26d2c1812956920f98da8590bd2db164f6a296f980352709d77ce081a9e6dd37"},
		// Raws either side of the pooled path's limit (maxPooledID/2),
		// and one hashed in parts.
		{"api", "nsl-kdd", bytes.Repeat([]byte("x"), maxPooledID/2), "k#3", "e34e2b2ab377f8822548f4b3d28b96a14c6541969f92f171fca3981a2ee4eeb2"},
		{"api", "nsl-kdd", bytes.Repeat([]byte("x"), maxPooledID/2+1), "k#3", "95bb97463d8ac4196cbdb8283b2a17549334e5a09216c6ed9676f0c71e0e4f64"},
		{"api", "nsl-kdd", bytes.Repeat([]byte("x"), 200000), "", "92a1dceafb111bbdebfc252ed6534007053e5b7348242a0fa18f149c93c014ca"},
		{"api", "nsl-kdd", bytes.Repeat([]byte("x"), 200000), "k#3", "d9823f5fdaf8623b78f7d7cd489f51d09ac8bcc1a2c7d0594c951b7bd6ecc774"},
	}
	for _, tt := range tests {
		for range 2 { // the second time through a pooled buffer
			if got := EventID(tt.source, tt.sourcetype, tt.raw, tt.occurrence); got != tt.want {
				t.Errorf("EventID(%q, %q, %d bytes of raw, %q) = %s, want %s", tt.source, tt.sourcetype, len(tt.raw), tt.occurrence, got, tt.want)
			}
		}
	}
}

// TestIDHex: idHex writes what encoding/hex writes, for every byte value
// in every position.
func TestIDHex(t *testing.T) {
	var sum [sha256.Size]byte
	for i := range 256 + len(sum) {
		for k := range sum {
			sum[k] = byte(i*7 + k*31 + i*k)
		}
		sum[i%len(sum)] = byte(i)
		if got, want := idHex(&sum), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("idHex(%x) = %s, want %s", sum, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	parse := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name      string
		ev        Event
		wantField string
		wantErr   error
	}{
		{"fine", Event{Time: ok, Received: ok, Fields: map[string]any{"n": json.Number("1.5e3"), "l": []any{1.0, "x", nil, map[string]any{"b": true}}}}, "", nil},
		{"year 0 with offset is year -1 in UTC", Event{Time: parse("0000-01-01T00:00:00+00:01"), Received: ok}, "time", ErrTimeRange},
		{"year 9999 with negative offset is 10000 in UTC", Event{Time: parse("9999-12-31T23:59:59-00:01"), Received: ok}, "time", ErrTimeRange},
		{"range ends are fine", Event{Time: parse("0000-01-01T00:00:00Z"), Received: parse("9999-12-31T23:59:59Z")}, "", nil},
		{"received", Event{Time: ok, Received: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "received", ErrTimeRange},
		{"NaN", Event{Time: ok, Received: ok, Fields: map[string]any{"d": math.NaN()}}, "fields.d", ErrNonFinite},
		{"nested Inf", Event{Time: ok, Received: ok, Fields: map[string]any{"m": map[string]any{"l": []any{1.0, math.Inf(-1)}}}}, "fields.m.l[1]", ErrNonFinite},
		{"float32 Inf", Event{Time: ok, Received: ok, Fields: map[string]any{"f": float32(math.Inf(1))}}, "fields.f", ErrNonFinite},
		{"bad json.Number", Event{Time: ok, Received: ok, Fields: map[string]any{"n": json.Number("12abc")}}, "fields.n", ErrUnsupportedValue},
		{"channel", Event{Time: ok, Received: ok, Fields: map[string]any{"c": make(chan int)}}, "fields.c", ErrUnsupportedValue},
		{"time value out of range", Event{Time: ok, Received: ok, Fields: map[string]any{"t": time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}, "fields.t", ErrTimeRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate()
			_, cerr := tt.ev.Canonical()
			if tt.wantErr == nil {
				if err != nil || cerr != nil {
					t.Fatalf("Validate = %v, Canonical = %v; want both nil", err, cerr)
				}
				return
			}
			var ve *InvalidValueError
			if !errors.As(err, &ve) || ve.Field != tt.wantField || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate = %v, want %s: %v", err, tt.wantField, tt.wantErr)
			}
			if ErrorCode(err) != CodeInvalidField {
				t.Errorf("code = %s, want %s", ErrorCode(err), CodeInvalidField)
			}
			if cerr == nil {
				t.Errorf("Canonical succeeded for an event Validate refuses")
			}
		})
	}
}

// FuzzValidate: Validate accepts exactly the events Canonical can encode,
// for fields as a JSON decoder produces them and any time.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,"x",{"c":null}]}`), int64(0), int64(0), 0)
	f.Add([]byte(`{}`), int64(-62167219200), int64(0), 60)
	f.Add([]byte(`{}`), int64(253402300799), int64(999999999), -60)
	f.Fuzz(func(t *testing.T, fields []byte, sec, nsec int64, offset int) {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(fields))
		d.UseNumber()
		if d.Decode(&m) != nil {
			m = nil
		}
		tm := time.Unix(sec, nsec).In(time.FixedZone("z", offset%100000))
		ev := Event{ID: "x", Time: tm, Received: time.Unix(0, 0), Fields: m, Raw: fields}
		verr := ev.Validate()
		_, cerr := ev.Canonical()
		if (verr == nil) != (cerr == nil) {
			t.Fatalf("Validate = %v but Canonical = %v (time %v)", verr, cerr, tm)
		}
	})
}
