package normalize

import (
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// str returns v as a string when it is a non-empty string other than the
// placeholders "-" that Zeek and Windows use for "unset".
func str(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		if x == "" || x == "-" {
			return "", false
		}
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// integer returns v as an int64: numbers, decimal strings and "0x" hex
// strings (Windows process ids) are accepted; fractions and junk are not.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		return 0, false
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
		return 0, false
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			n, err := strconv.ParseInt(s[2:], 16, 64)
			return n, err == nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// number returns v as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// boolean accepts JSON booleans, Zeek's T/F and "true"/"false" strings.
func boolean(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "t", "true":
			return true, true
		case "f", "false":
			return false, true
		}
	}
	return false, false
}

// epoch converts fractional epoch seconds to a UTC time with microsecond
// precision (Zeek's resolution), avoiding float rounding in the nanoseconds.
func epoch(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}
	}
	sec := math.Floor(f)
	usec := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(usec)*1000).UTC()
}

// timeLayouts are the timestamp spellings seen in the supported sources:
// RFC 3339, Suricata's "+0000" offsets, Windows' "2006-01-02 15:04:05.000"
// (UTC) and Suricata's zone-less form (taken as UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
}

// parseTime reads a timestamp value: a string in one of timeLayouts or a
// number of epoch seconds. It returns the zero time when it cannot.
func parseTime(v any) time.Time {
	switch x := v.(type) {
	case string:
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, x); err == nil {
				return t.UTC()
			}
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return epoch(f)
		}
		return time.Time{}
	default:
		if f, ok := number(v); ok {
			return epoch(f)
		}
	}
	return time.Time{}
}

// fieldSetter collects ECS fields, skipping absent and placeholder values so
// a key is present only when it carries information.
type fieldSetter map[string]any

func (f fieldSetter) str(key string, v any) {
	if s, ok := str(v); ok {
		f[key] = s
	}
}

func (f fieldSetter) lower(key string, v any) {
	if s, ok := str(v); ok {
		f[key] = strings.ToLower(s)
	}
}

func (f fieldSetter) int(key string, v any) {
	if n, ok := integer(v); ok {
		f[key] = n
	}
}

func (f fieldSetter) port(key string, v any) {
	if n, ok := integer(v); ok && n >= 0 && n <= 65535 {
		f[key] = n
	}
}

// ip sets an IP address field, stripping the IPv4-mapped "::ffff:" prefix
// Windows uses and skipping placeholders.
func (f fieldSetter) ip(key string, v any) {
	if s, ok := str(v); ok {
		if a, err := netip.ParseAddr(s); err == nil {
			// One spelling per address so records from different tools join:
			// Suricata writes IPv6 uncompressed, Windows maps IPv4 into IPv6.
			f[key] = a.Unmap().String()
			return
		}
		f[key] = s
	}
}
