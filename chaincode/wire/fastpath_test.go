package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The checks below pin this package's faster paths to the code they
// replaced (kept here, verbatim, as the reference): the table-driven
// token, hash and text checks, the alert id comparison, the direct parse
// and format of canonical times, the eight-byte string scans and the
// decoding of transient alerts through kept buffers. Each must accept,
// refuse and write exactly what the old code did.

// refIsToken is isToken as it was before charClass.
func refIsToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == ':', c == '@', c == '/':
		default:
			return false
		}
	}
	return true
}

// refIsHash is IsHash as it was before charClass.
func refIsHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// refCheckText is checkText as it was before its ASCII fast path.
func refCheckText(field, s string, max int, required bool) error {
	if required && s == "" {
		return invalid(field, "is required")
	}
	if len(s) > max {
		return invalid(field, "%d bytes exceeds the limit of %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if r == 0 || r == utf8.MaxRune {
			return invalid(field, "contains U+0000 or U+10FFFF")
		}
	}
	return nil
}

// refPlain is plainPrefix as a byte loop.
func refPlain(b []byte, html bool) int {
	for i, c := range b {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || html && (c == '<' || c == '>' || c == '&') {
			return i
		}
	}
	return len(b)
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkStringChecks compares every string check with its reference on s.
func checkStringChecks(t *testing.T, s string) {
	t.Helper()
	for _, max := range []int{0, 1, 8, maxTokenLen, 64, maxTextLen, len(s), len(s) - 1} {
		if got, want := isToken(s, max), refIsToken(s, max); got != want {
			t.Fatalf("isToken(%q, %d) = %v, want %v", s, max, got, want)
		}
		for _, req := range []bool{false, true} {
			if got, want := errText(checkText("f", s, max, req)), errText(refCheckText("f", s, max, req)); got != want {
				t.Fatalf("checkText(%q, %d, %v) = %s, want %s", s, max, req, got, want)
			}
		}
	}
	if got, want := IsHash(s), refIsHash(s); got != want {
		t.Fatalf("IsHash(%q) = %v, want %v", s, got, want)
	}
	if got, want := plainPrefix([]byte(s)), refPlain([]byte(s), false); got != want {
		t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
	}
	if got, want := isPlainHTML(s), refPlain([]byte(s), true) == len(s); got != want {
		t.Fatalf("isPlainHTML(%q) = %v, want %v", s, got, want)
	}
}

// stringCheckInputs are strings at every edge of the checks: each byte
// class at each position of an eight-byte word, the composite-key
// separators, invalid UTF-8.
func stringCheckInputs() []string {
	ins := []string{"", "a", "Org1MSP", "gw-1", "T1110.001", "a b", "a\x00b", "caf\u00e9", "\U0010FFFF", "x\U0010FFFFy", "bad\xff",
		"\xed\xa0\x80", strings.Repeat("a", 64), strings.Repeat("f", 64), strings.Repeat("A", 64), strings.Repeat("0", 63) + "g",
		"service.private:+8.3,count:+3.2,srv_count:+2.9", "<script>&\"x\"\\", "\u2028", "\x7f", "~}|{`^]["}
	for _, c := range []byte{0, 0x01, 0x1f, ' ', '"', '\\', '<', '>', '&', '/', '@', ':', '.', '_', '-', 'g', 'G', 0x7f, 0x80, 0xc3, 0xff} {
		for pos := 0; pos < 17; pos++ {
			b := []byte(strings.Repeat("0123456789abcdef", 2)[:17])
			b[pos] = c
			ins = append(ins, string(b))
		}
	}
	return ins
}

// TestStringChecksMatchReference: the table-driven and eight-byte checks
// agree with the old byte loops on every edge case.
func TestStringChecksMatchReference(t *testing.T) {
	for _, s := range stringCheckInputs() {
		checkStringChecks(t, s)
	}
}

// FuzzStringChecks: the same on any string.
func FuzzStringChecks(f *testing.F) {
	for _, s := range stringCheckInputs() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkStringChecks(t, s) })
}

// FuzzIsAlertID: isAlertID(id, ...) is exactly id == AlertID(...).
func FuzzIsAlertID(f *testing.F) {
	good := AlertID("Org1MSP", "gw-1", strings.Repeat("a", 64), "m", "1")
	f.Add(good, "Org1MSP", "gw-1", strings.Repeat("a", 64), "m", "1")
	f.Add(strings.ToUpper(good), "Org1MSP", "gw-1", strings.Repeat("a", 64), "m", "1")
	f.Add(good[:63], "Org1MSP", "gw-1", strings.Repeat("a", 64), "m", "1")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, msp, gw, eh, model, version string) {
		if got, want := isAlertID(id, msp, gw, eh, model, version), id == AlertID(msp, gw, eh, model, version); got != want {
			t.Fatalf("isAlertID(%q, ...) = %v, want %v", id, got, want)
		}
		if !isAlertID(AlertID(msp, gw, eh, model, version), msp, gw, eh, model, version) {
			t.Fatal("isAlertID refuses AlertID's own id")
		}
	})
}

// checkCanonicalTime: whatever parseCanonicalTime accepts, ParseTime
// accepts as the same Time (the same value, comparable with ==).
func checkCanonicalTime(t *testing.T, s string) {
	t.Helper()
	got, ok := parseCanonicalTime([]byte(s))
	if !ok {
		return
	}
	want, err := ParseTime(s)
	if err != nil {
		t.Fatalf("parseCanonicalTime(%q) accepted what ParseTime refuses: %v", s, err)
	}
	if got != want {
		t.Fatalf("parseCanonicalTime(%q) = %#v, want %#v", s, got, want)
	}
}

// TestParseCanonicalTime: the gateway's form is parsed directly, as
// ParseTime parses it; other forms and out-of-range fields are left to
// ParseTime.
func TestParseCanonicalTime(t *testing.T) {
	tests := []struct {
		in     string
		direct bool
	}{
		{"2026-12-05T10:00:00.123456789Z", true},
		{"0000-01-01T00:00:00.000000000Z", true},
		{"9999-12-31T23:59:59.999999999Z", true},
		{"2024-02-29T00:00:00.000000000Z", true},
		{"2000-02-29T00:00:00.000000000Z", true},
		{"1900-02-29T00:00:00.000000000Z", false},
		{"2026-02-29T00:00:00.000000000Z", false},
		{"2026-04-31T00:00:00.000000000Z", false},
		{"2026-12-32T00:00:00.000000000Z", false},
		{"2026-13-01T00:00:00.000000000Z", false},
		{"2026-00-01T00:00:00.000000000Z", false},
		{"2026-12-00T00:00:00.000000000Z", false},
		{"2026-12-05T24:00:00.000000000Z", false},
		{"2026-12-05T10:60:00.000000000Z", false},
		{"2026-12-05T10:00:60.000000000Z", false},
		{"2026-12-05T10:00:00.12345678Z", false},
		{"2026-12-05T10:00:00.123456789z", false},
		{"2026-12-05T10:00:00.123456789+00:00", false},
		{"2026-12-05t10:00:00.123456789Z", false},
		{"2026-12-05T10:00:00,123456789Z", false},
		{"2026-12-05T1a:00:00.123456789Z", false},
		{"+026-12-05T10:00:00.123456789Z", false},
		{"2026-12-05T10:00:00Z", false},
	}
	for _, tt := range tests {
		_, ok := parseCanonicalTime([]byte(tt.in))
		if ok != tt.direct {
			t.Errorf("parseCanonicalTime(%q) direct = %v, want %v", tt.in, ok, tt.direct)
		}
		checkCanonicalTime(t, tt.in)
	}
}

// FuzzParseCanonicalTime: parseCanonicalTime agrees with ParseTime on any
// text it accepts.
func FuzzParseCanonicalTime(f *testing.F) {
	f.Add("2026-12-05T10:00:00.123456789Z")
	f.Add("2024-02-29T23:59:59.000000000Z")
	f.Add("2026-02-29T00:00:00.000000000Z")
	f.Fuzz(func(t *testing.T, s string) { checkCanonicalTime(t, s) })
}

// checkAppendCanonicalTime: appendCanonicalTime writes what
// AppendFormat(TimeLayout) writes, for a time in any zone.
func checkAppendCanonicalTime(t *testing.T, tm time.Time) {
	t.Helper()
	got := string(appendCanonicalTime([]byte("x"), Time{tm}))
	want := string(tm.UTC().AppendFormat([]byte("x"), TimeLayout))
	if got != want {
		t.Fatalf("appendCanonicalTime(%v) = %s, want %s", tm, got, want)
	}
}

// TestAppendCanonicalTime covers the edges of the direct form (years 0
// and 9999, zones, the zero Time) and the years left to AppendFormat.
func TestAppendCanonicalTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+1800)
	for _, tm := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(1796521489, 119513078), time.Unix(1796521489, 0).In(east),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(10000, 1, 1, 3, 0, 0, 1, east), time.Date(2024, 2, 29, 12, 0, 0, 5, time.UTC),
	} {
		checkAppendCanonicalTime(t, tm)
	}
}

// FuzzAppendCanonicalTime: the same for any instant.
func FuzzAppendCanonicalTime(f *testing.F) {
	f.Add(int64(1796521489), int64(119513078), 0)
	f.Add(int64(-62135596800), int64(0), 3600)
	f.Add(int64(253402300799), int64(999999999), -3600)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		checkAppendCanonicalTime(t, time.Unix(sec, nsec).In(time.FixedZone("z", offset%(48*3600))))
	})
}

// checkDecodeTransient: DecodeTransientAlerts(v) is exactly
// DecodeAlerts of 25cb1f9's inflation (refInflateTransientAlerts, a fresh
// decompressor per value): the same alerts or the same error.
func checkDecodeTransient(t *testing.T, v []byte) []Alert {
	t.Helper()
	got, gotErr := DecodeTransientAlerts(v)
	var want []Alert
	in, wantErr := refInflateTransientAlerts(v)
	if wantErr == nil {
		want, wantErr = DecodeAlerts(in, "alerts")
	}
	if errText(gotErr) != errText(wantErr) || reflect.TypeOf(gotErr) != reflect.TypeOf(wantErr) {
		t.Fatalf("DecodeTransientAlerts error = %v, want %v", gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeTransientAlerts =\n%#v\nwant\n%#v", got, want)
	}
	return got
}

func compressed(tb testing.TB, js []byte) []byte {
	tb.Helper()
	z, err := CompressTransientAlerts(js)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// TestDecodeTransientAlerts: valid, invalid and undecodable transient
// values decode as before, and the alerts of one call stay intact while
// later calls reuse the kept buffer (no string of an alert shares it).
func TestDecodeTransientAlerts(t *testing.T) {
	js := kddAlertsJSON(t, 40)
	z := compressed(t, js)
	first := checkDecodeTransient(t, z)
	snapshot, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]byte{
		compressed(t, bytes.Repeat([]byte{'x'}, len(js))), // overwrites a reused buffer
		compressed(t, kddAlertsJSON(t, 3)),
		compressed(t, []byte(`[{"asset":"a\"b"}]`)), // the encoding/json path
		compressed(t, []byte(`[{"score":"1"}]`)),
		compressed(t, []byte(`[]`)),
		compressed(t, []byte(``)),
		z[:len(z)/2],
		append(bytes.Clone(z), 0),
		{},
		js,
	} {
		checkDecodeTransient(t, v)
	}
	again, err := json.Marshal(first)
	if err != nil || !bytes.Equal(again, snapshot) {
		t.Fatalf("alerts of an earlier call changed when the buffer was reused:\n%s\nwant\n%s", again, snapshot)
	}
}

// FuzzDecodeTransientAlerts: DecodeTransientAlerts agrees with
// DecodeAlerts(InflateTransientAlerts(v)) on any value, compressed or
// not (the fuzzer's runs reuse the kept buffers and decompressors).
func FuzzDecodeTransientAlerts(f *testing.F) {
	js := kddAlertsJSON(f, 3)
	f.Add(compressed(f, js), false)
	f.Add(js, true)
	f.Add([]byte(`[{"fields":{"a":"1","a":"2"}}]`), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if compress {
			data = compressed(t, data)
		}
		checkDecodeTransient(t, data)
	})
}

// TestEncodeStoredAlertSetOwnsResult: a plain (small) stored set does not
// share the kept JSON buffer: encoding later sets leaves it unchanged.
func TestEncodeStoredAlertSetOwnsResult(t *testing.T) {
	small := &AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: strings.Repeat("b", 64), RaisedTx: "tx"}
	var list []Alert
	if err := json.Unmarshal(kddAlertsJSON(t, 2), &list); err != nil {
		t.Fatal(err)
	}
	small.Add(list[0])
	got, err := EncodeStoredAlertSet(small)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(small)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("small set stored as %s, want its JSON %s (%v)", got, want, err)
	}
	keep := bytes.Clone(got)
	for range 3 {
		big := &AlertSet{MSP: "Org2MSP", GatewayID: "gw-2", BatchID: strings.Repeat("c", 64), RaisedTx: "tx2"}
		var many []Alert
		if err := json.Unmarshal(kddAlertsJSON(t, 30), &many); err != nil {
			t.Fatal(err)
		}
		sort.Slice(many, func(i, j int) bool { return many[i].ID < many[j].ID })
		for _, a := range many {
			big.Add(a)
		}
		if _, err := EncodeStoredAlertSet(big); err != nil {
			t.Fatal(err)
		}
		if _, err := EncodeStoredAlertSet(small); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, keep) {
		t.Fatalf("an earlier result changed: %s, want %s", got, keep)
	}
}

// TestValidatePrefixesField: Validate's field prefix applies to every
// refusal and to nothing else (prefixField was split out of Validate).
func TestValidatePrefixesField(t *testing.T) {
	var list []Alert
	if err := json.Unmarshal(kddAlertsJSON(t, 1), &list); err != nil {
		t.Fatal(err)
	}
	a := list[0]
	if err := a.Validate("alerts[3]"); err != nil {
		t.Fatalf("valid alert refused: %v", err)
	}
	a.Score = math.Inf(1) // not checked by Validate: still valid
	if err := a.Validate("alerts[3]"); err != nil {
		t.Fatalf("valid alert refused: %v", err)
	}
	a.ID = strings.Repeat("0", 64)
	for field, want := range map[string]string{"": "id", "alerts[3]": "alerts[3].id"} {
		var ve *ValidationError
		if err := a.Validate(field); !errors.As(err, &ve) || ve.Field != want {
			t.Errorf("Validate(%q) = %v, want a refusal on %s", field, err, want)
		}
	}
}
