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
