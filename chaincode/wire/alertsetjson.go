package wire

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// MarshalAlertSet returns exactly json.Marshal(s): the same bytes, or the
// same error.
//
// Why: encoding/json's reflection over a set's 1,000 alerts was about a
// fifth of the chaincode's CPU per alert under ingest load, on every
// endorser. Stored bytes must not change (endorsers must agree, whichever
// chaincode version each runs, and TestStoredAlertSetGolden pins them), so
// this writes the alerts' JSON directly, field by field in the struct's
// order with its omitempty/omitzero rules, and hands every part that is
// not plain back to encoding/json: a string needing any escape or holding
// non-ASCII, an alert with a chaincode-set pointer field or time, a score
// that is not finite (encoding/json's error then), and the small tables
// (raisedBy, models, merged). FuzzMarshalAlertSet checks the bytes against
// json.Marshal.
func MarshalAlertSet(s *AlertSet) ([]byte, error) {
	return appendMarshalAlertSet(make([]byte, 0, 256+600*len(s.Alerts)), s)
}

// appendMarshalAlertSet is MarshalAlertSet writing into dst[:0] (the
// result may be dst's memory, or not: a set encoding/json writes is new).
func appendMarshalAlertSet(dst []byte, s *AlertSet) ([]byte, error) {
	b, ok := appendAlertSet(dst[:0], s)
	if !ok {
		return json.Marshal(s)
	}
	return b, nil
}

func appendAlertSet(b []byte, s *AlertSet) ([]byte, bool) {
	b = append(b, `{"msp":`...)
	b = appendJSONString(b, s.MSP)
	b = append(b, `,"gatewayId":`...)
	b = appendJSONString(b, s.GatewayID)
	b = append(b, `,"batchId":`...)
	b = appendJSONString(b, s.BatchID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(s.Seq), 10)
	b = append(b, `,"raisedAt":`...)
	b = appendJSONTime(b, s.RaisedAt)
	b = append(b, `,"raisedTx":`...)
	b = appendJSONString(b, s.RaisedTx)
	b = append(b, `,"raisedBy":`...)
	b, ok := appendMarshal(b, &s.RaisedBy)
	if !ok {
		return b, false
	}
	b = append(b, `,"alerts":`...)
	if s.Alerts == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Alerts {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendAlert(b, &s.Alerts[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if len(s.Models) > 0 {
		b = append(b, `,"models":`...)
		if b, ok = appendMarshal(b, s.Models); !ok {
			return b, false
		}
	}
	if len(s.Merged) > 0 {
		b = append(b, `,"merged":`...)
		if b, ok = appendMarshal(b, s.Merged); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendAlert writes a as json.Marshal would, or reports false for an
// alert carrying chaincode-set structures (left to encoding/json whole).
func appendAlert(b []byte, a *Alert) ([]byte, bool) {
	if a.RaisedBy != nil || a.LastChange != nil || a.SuppressedBy != nil || !a.RaisedAt.IsZero() || !a.LastSeen.IsZero() {
		return appendMarshal(b, a)
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.ID)
	b = appendOmitEmpty(b, `,"msp":`, a.MSP)
	b = appendOmitEmpty(b, `,"gatewayId":`, a.GatewayID)
	b = append(b, `,"eventHash":`...)
	b = appendJSONString(b, a.EventHash)
	b = appendOmitEmpty(b, `,"batchId":`, a.BatchID)
	b = append(b, `,"eventTime":`...)
	b = appendJSONTime(b, a.EventTime)
	b = append(b, `,"detector":{"modelId":`...)
	b = appendJSONString(b, a.Detector.ID)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, a.Detector.Version)
	b = appendOmitEmpty(b, `,"sha256":`, a.Detector.SHA256)
	b = append(b, `},"score":`...)
	var ok bool
	if b, ok = appendJSONFloat(b, a.Score); !ok {
		return b, false
	}
	b = append(b, `,"severity":`...)
	b = appendJSONString(b, a.Severity)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, a.Category)
	b = appendOmitEmpty(b, `,"asset":`, a.Asset)
	b = appendOmitEmpty(b, `,"principal":`, a.Principal)
	if len(a.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		var stack [8]string // the gateway's alerts carry a few fields
		keys := stack[:0]
		for k := range a.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts map keys as strings
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, a.Fields[k])
		}
		b = append(b, '}')
	}
	b = appendOmitEmpty(b, `,"status":`, a.Status)
	b = appendOmitEmpty(b, `,"raisedTx":`, a.RaisedTx)
	b = appendOmitEmpty(b, `,"dedupKey":`, a.DedupKey)
	if a.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(a.Count), 10)
	}
	return append(b, '}'), true
}

// appendMarshal appends json.Marshal(v) (whose output for a value is the
// same alone as inside a larger value).
func appendMarshal(b []byte, v any) ([]byte, bool) {
	out, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return append(b, out...), true
}

// appendJSONString writes s as encoding/json does: printable ASCII other
// than `"`, `\`, `<`, `>` and `&` as is; any other string through
// encoding/json itself (escapes, HTML-safe escapes, U+2028/U+2029,
// invalid UTF-8).
// appendOmitEmpty writes member (`,"name":`) and v as a string, unless v
// is empty: an omitempty string field as encoding/json writes it.
func appendOmitEmpty(b []byte, member, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, member...), v)
}

func appendJSONString(b []byte, s string) []byte {
	if !isPlainHTML(s) {
		out, _ := json.Marshal(s) // a string always encodes
		return append(b, out...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime writes t as its MarshalJSON does (digits, '-', ':', 'T',
// '.', 'Z': nothing encoding/json's compaction of a Marshaler's output
// would change).
func appendJSONTime(b []byte, t Time) []byte {
	b = append(b, '"')
	b = appendCanonicalTime(b, t)
	return append(b, '"')
}

// appendJSONFloat writes f as encoding/json's float64 encoder does
// (shortest 'f' form, 'e' form below 1e-6 or from 1e21, "e-07" shortened
// to "e-7"); a NaN or infinity reports false (encoding/json refuses it).
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
