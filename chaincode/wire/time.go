package wire

import (
	"bytes"
	"fmt"
	"time"
)

// TimeLayout is the one layout every time on the wire uses: RFC 3339 with
// exactly nine fractional digits. A fixed width (unlike time.RFC3339Nano,
// which trims trailing zeros) keeps the text canonical and makes
// lexicographic order equal chronological order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Time is a UTC instant that encodes as [TimeLayout]. Decoding accepts any
// RFC 3339 text (with or without fraction, any offset) and normalises it to
// UTC, so a decode→encode round trip yields the canonical form.
type Time struct {
	time.Time
}

// NewTime returns t as a wire Time in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC()} }

// String returns the canonical text, or "" for the zero Time.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// MarshalJSON encodes the canonical text. The zero Time encodes as the
// canonical zero instant; fields that may be unset carry `omitzero`.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON parses RFC 3339 text (null is refused: a time field is
// either present or omitted).
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || bytes.IndexByte(b[1:len(b)-1], '"') >= 0 {
		return fmt.Errorf("time must be an RFC 3339 string, got %s", truncate(string(b), 64))
	}
	parsed, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// ParseTime parses RFC 3339 text (any fraction, any offset) into a UTC Time.
func ParseTime(s string) (Time, error) {
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Time{}, fmt.Errorf("time %q is not RFC 3339: %w", truncate(s, 64), err)
	}
	return Time{parsed.UTC()}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseCanonicalTime parses b if it is a time in TimeLayout's form in UTC
// ("2006-01-02T15:04:05.000000000Z") that ParseTime accepts, giving the
// same Time; anything else (another offset or precision, an out-of-range
// field) reports false, for ParseTime to decide.
//
// Why: the gateway sends every alert's event time in this form, and
// time.Parse interprets its layout and needed the text as a new string
// for every alert (FuzzParseCanonicalTime checks this against ParseTime).
func parseCanonicalTime(b []byte) (Time, bool) {
	if len(b) != len("2006-01-02T15:04:05.000000000Z") || b[4] != '-' || b[7] != '-' || b[10] != 'T' ||
		b[13] != ':' || b[16] != ':' || b[19] != '.' || b[29] != 'Z' {
		return Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	nsec, ok7 := num(20, 29)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		month < 1 || month > 12 || day < 1 || day > DaysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return Time{}, false
	}
	return Time{time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)}, true
}

// DaysIn returns the number of days of month (1..12) of year, proleptic
// Gregorian as package time counts them; the gateway's parser of stored
// event times uses it too, so both sides refuse the same dates.
func DaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendCanonicalTime appends t in TimeLayout, as t.UTC().AppendFormat(b,
// TimeLayout) does: directly for years 0..9999 (every time an alert or a
// set carries), through AppendFormat otherwise.
//
// Why: AppendFormat interprets its layout on every call, and a stored
// set writes an event time per alert (FuzzAppendCanonicalTime checks the
// two agree).
func appendCanonicalTime(b []byte, t Time) []byte {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := u.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, u.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits appends n (>= 0, below 10^width) as width decimal digits.
func appendDigits(b []byte, n, width int) []byte {
	var d [9]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}
