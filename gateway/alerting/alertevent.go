package alerting

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// alertFields are the only event fields an alert reads (alert,
// protectField, policyFields). A new read of ev.Fields there must be
// added here: TestAlertEventMatchesFull compares alerts built from
// alertEvent with alerts built from whole events.
var alertFields = map[string]bool{
	"destination.ip": true, "destination.port": true, "host.ip": true,
	"host.name": true, "source.ip": true, "user.name": true,
}

// alertEvent returns what alert reads of leaf's event: for a partial
// leaf, its header with Fields holding only alertFields, read from the
// canonical bytes (gateway.EachField), when each of them present is a
// string that needs no unescaping, a number, a boolean or null (values
// a decoder returns as written: string, json.Number, bool, nil); else,
// and for a whole leaf, the whole event. Decoding every field of a
// flagged event was a few per cent of the gateway's CPU under the ingest
// bench, where the anomaly models flag many rows.
func alertEvent(leaf *gateway.Leaf) (gateway.Event, error) {
	if !leaf.Partial() {
		return leaf.Event, nil
	}
	ev := leaf.Event
	refused := false
	ok := gateway.EachField(leaf.Canonical, func(key, value []byte) {
		if refused || !alertFields[string(key)] {
			return
		}
		v, ok := scalarValue(value)
		if !ok {
			refused = true
			return
		}
		if ev.Fields == nil {
			ev.Fields = make(map[string]any, len(alertFields))
		}
		ev.Fields[string(key)] = v
	})
	if !ok || refused {
		return leaf.Full()
	}
	return ev, nil
}

// scalarValue returns the value a decoder (numbers as json.Number) gives
// for the JSON scalar v, when it is one it reads as written; false for
// objects, arrays and strings with escapes, control bytes or invalid
// UTF-8.
func scalarValue(v []byte) (any, bool) {
	switch c := v[0]; {
	case c == '"':
		s := v[1 : len(v)-1]
		for _, b := range s {
			if b < 0x20 || b == '\\' {
				return nil, false
			}
		}
		if !utf8.Valid(s) {
			return nil, false
		}
		return string(s), true
	case c == 't' && string(v) == "true":
		return true, true
	case c == 'f' && string(v) == "false":
		return false, true
	case c == 'n' && string(v) == "null":
		return nil, true
	case c == '-' || c-'0' < 10:
		if !json.Valid(v) {
			return nil, false
		}
		return json.Number(string(v)), true
	}
	return nil, false
}
