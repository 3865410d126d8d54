package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// gatewayAlerts returns n alerts as a gateway sends them (fixture's
// alerts, with scores of float32 origin as the models give).
func gatewayAlerts(n int) []wire.Alert {
	b := fixture.Batch("Org1MSP", "gw-1", 0, uint64(n)+1)
	out := make([]wire.Alert, n)
	for i := range out {
		a := fixture.Alert(b, uint64(i), "info", "anomaly", "")
		a.Score = float64(float32(0.1) + float32(i)*0.000731)
		if i%3 == 0 {
			a.Principal, a.Fields = "", nil
		}
		out[i] = a
	}
	return out
}

// alertInputs are RaiseAlerts inputs of every kind DecodeAlerts must treat
// as encoding/json does: the gateway's form, and forms the fast scanner
// leaves to encoding/json (escapes, other spellings, repeats, nulls,
// invalid UTF-8, bad numbers, trailing data).
func alertInputs() []string {
	plain := fixture.JSON(gatewayAlerts(3))
	one := fixture.JSON(gatewayAlerts(1)[0])
	return []string{
		plain,
		"  \n" + plain + "\t\r\n ",
		"[]", "[ ]", "null", "", " ", "{}", "[null]", "[{}]", "[{},{}]", "[{}", "[{}]]", "[{}] x", "[1]", `["a"]`,
		"[" + one + "]",
		"[" + one + "," + one + "]",
		"[" + one + ",]",
		"[" + strings.Replace(one, `"id"`, `"ID"`, 1) + "]", // another spelling: encoding/json folds case
		"[" + strings.Replace(one, `"id"`, `"Id"`, 1) + "]",
		"[" + strings.Replace(one, `"modelId"`, `"modelid"`, 1) + "]",
		"[" + strings.Replace(one, `"score":`, `"score":1,"score":`, 1) + "]", // repeated key
		"[" + strings.Replace(one, `"score":`, `"status":"open","score":`, 1) + "]",
		"[" + strings.Replace(one, `"score":`, `"unknown":1,"score":`, 1) + "]",
		`[{"fields":{"a":"1","a":"2"}}]`,
		`[{"fields":{"a":"1"},"fields":{"b":"2"}}]`,
		`[{"fields":{}}]`, `[{"fields":null}]`, `[{"fields":{"a":null}}]`, `[{"fields":{"a":1}}]`,
		`[{"asset":"a\"b"}]`, `[{"asset":"a\u0041"}]`, `[{"asset":"\ud800"}]`, "[{\"asset\":\"a\x01\"}]",
		"[{\"asset\":\"caf\xc3\xa9\"}]", "[{\"asset\":\"bad\xff\"}]", "[{\"fields\":{\"k\xff\":\"v\"}}]",
		`[{"asset":null}]`, `[{"asset":1}]`, `[{"asset":"x}]`,
		`[{"score":0}]`, `[{"score":-0}]`, `[{"score":1e400}]`, `[{"score":01}]`, `[{"score":1.}]`, `[{"score":.5}]`,
		`[{"score":1e5}]`, `[{"score":1E+5}]`, `[{"score":-1.5e-7}]`, `[{"score":"1"}]`, `[{"score":true}]`, `[{"score":-}]`,
		`[{"eventTime":"2026-12-05T10:00:00Z"}]`, `[{"eventTime":"2026-12-05T10:00:00.123+02:00"}]`,
		`[{"eventTime":"yesterday"}]`, `[{"eventTime":null}]`, `[{"eventTime":"2026-12-05T10:00:00\u005a"}]`, `[{"eventTime":5}]`,
		`[{"detector":{"modelId":"m","version":"1"}}]`, `[{"detector":{"modelId":"m","modelId":"n"}}]`,
		`[{"detector":{"modelId":"m","other":"1"}}]`, `[{"detector":null}]`, `[{"detector":{}}]`, `[{"detector":[]}]`,
		`[{"count":1}]`, `[{"raisedBy":{"msp":"x","subject":"y"}}]`,
		"\ufeff" + plain,
		// Canonical event times at the direct parse's edges.
		`[{"eventTime":"2024-02-29T10:00:00.000000000Z"}]`, `[{"eventTime":"2026-02-29T10:00:00.000000000Z"}]`,
		`[{"eventTime":"2026-12-05T24:00:00.000000000Z"}]`, `[{"eventTime":"2026-12-05T10:00:60.000000000Z"}]`,
		`[{"eventTime":"2026-12-05T10:00:00.00000000aZ"}]`, `[{"eventTime":"0000-01-01T00:00:00.000000000Z"}]`,
		// Fields shared with the previous alert, in other orders and with
		// other values, repeated, missing.
		`[{"fields":{"a":"1","b":"2"}},{"fields":{"a":"1","b":"3"}},{"fields":{"b":"2","a":"1"}},{},{"fields":{"a":"1"}},{"fields":{"a":"1","b":"2","c":"4"}}]`,
		`[{"fields":{"a":"1","b":"2"}},{"fields":{"a":"1","a":"1"}}]`,
		`[{"fields":{"a":"1"}},{"fields":{"a":"1","b":null}}]`,
	}
}

// TestDecodeAlertsMatchesDecode: DecodeAlerts gives Decode[[]Alert]'s
// value and error for every input.
func TestDecodeAlertsMatchesDecode(t *testing.T) {
	for _, in := range alertInputs() {
		checkDecodeAlerts(t, []byte(in))
	}
}

// TestDecodeAlertsFastPath: the gateway's form is decoded by the scanner
// (not handed to encoding/json), so the speed-up applies to it.
func TestDecodeAlertsFastPath(t *testing.T) {
	in := []byte(fixture.JSON(gatewayAlerts(50)))
	got, ok := wire.FastAlerts(in)
	if !ok {
		t.Fatal("the gateway's form fell back to encoding/json")
	}
	want, err := wire.Decode[[]wire.Alert](in, "alerts")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v (%v)", got, want, err)
	}
	for _, in := range []string{`[{"asset":"a\"b"}]`, `[{"ID":"x"}]`, `[{"score":1,"score":2}]`, "[] x"} {
		if _, ok := wire.FastAlerts([]byte(in)); ok {
			t.Errorf("FastAlerts(%s) took the fast path", in)
		}
	}
}

func checkDecodeAlerts(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := wire.DecodeAlerts(data, "alerts")
	want, wantErr := wire.Decode[[]wire.Alert](data, "alerts")
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("DecodeAlerts(%q) error = %v, want %v", data, gotErr, wantErr)
	}
	if gotErr != nil {
		var ve *wire.ValidationError
		if !errors.As(gotErr, &ve) {
			t.Fatalf("DecodeAlerts(%q) error %T is not a *ValidationError", data, gotErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeAlerts(%q) =\n%#v\nwant\n%#v", data, got, want)
	}
}

// FuzzDecodeAlerts checks DecodeAlerts against Decode[[]Alert] (the
// strict encoding/json decoder it speeds up) on any input: same value,
// same error.
func FuzzDecodeAlerts(f *testing.F) {
	for _, in := range alertInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeAlerts(t, data) })
}

// at is fixture.Base plus sec seconds, as a wire time.
func at(sec int) wire.Time { return wire.NewTime(fixture.Base.Add(time.Duration(sec) * time.Second)) }

// alertSets are sets of every kind MarshalAlertSet must encode as
// json.Marshal does.
func alertSets() []*wire.AlertSet {
	base := func() *wire.AlertSet {
		s := &wire.AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: fixture.Hash("b"), Seq: 3,
			RaisedAt: at(0), RaisedTx: "tx1", RaisedBy: wire.Actor{MSP: "Org1MSP", Subject: "CN=gw"}}
		for _, a := range gatewayAlerts(5) {
			s.Add(a)
		}
		return s
	}
	var out []*wire.AlertSet
	out = append(out, base(), &wire.AlertSet{}, &wire.AlertSet{Alerts: []wire.Alert{}})
	edit := func(fn func(s *wire.AlertSet)) {
		s := base()
		fn(s)
		out = append(out, s)
	}
	edit(func(s *wire.AlertSet) { s.Alerts[0].Asset = `<script>&"x"\` })
	edit(func(s *wire.AlertSet) { s.Alerts[0].Asset = "caf\u00e9 \u2028 bad\xff \x01" })
	edit(func(s *wire.AlertSet) {
		s.Alerts[1].Fields = map[string]string{"z": "1", "a": "<", "m\u00e9": "x", "B": ""}
	})
	edit(func(s *wire.AlertSet) { s.Alerts[1].Fields = map[string]string{} })
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 1e-6, 9.99e-7, 1e-7, 1e-10, 1e20, 1e21, 1.5e300, 5e-324, 0.1, 1.0 / 3} {
		edit(func(s *wire.AlertSet) { s.Alerts[2].Score = f })
	}
	edit(func(s *wire.AlertSet) { s.Alerts[2].Score = math.NaN() })
	edit(func(s *wire.AlertSet) { s.Alerts[2].Score = math.Inf(1) })
	edit(func(s *wire.AlertSet) {
		s.Alerts[2].SuppressedBy = &wire.RuleRef{ID: "r", Version: 1}
		s.Alerts[3].DedupKey, s.Alerts[3].Count, s.Alerts[3].Status, s.Alerts[3].RaisedTx = "k", 2, "open", "tx"
		s.Alerts[4].RaisedBy = &wire.Actor{MSP: "m"}
		s.Alerts[4].MSP, s.Alerts[4].GatewayID, s.Alerts[4].BatchID = "Org1MSP", "gw-1", fixture.Hash("b")
	})
	edit(func(s *wire.AlertSet) { s.Alerts[0].LastSeen, s.Alerts[1].RaisedAt = at(5), at(6) })
	edit(func(s *wire.AlertSet) {
		s.Merged = []wire.MergedDetection{{ID: "m", EventHash: "h", EventTime: at(1), Into: "i", IntoBatchID: "b"}}
		s.Models = nil
	})
	edit(func(s *wire.AlertSet) { s.Alerts = nil })
	edit(func(s *wire.AlertSet) { s.Seq, s.MSP, s.RaisedTx = -1, "a&b", "" })
	return out
}

// TestMarshalAlertSetMatchesJSON: MarshalAlertSet's bytes and errors are
// json.Marshal's.
func TestMarshalAlertSetMatchesJSON(t *testing.T) {
	for i, s := range alertSets() {
		got, gotErr := wire.MarshalAlertSet(s)
		want, wantErr := json.Marshal(s)
		if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Errorf("set %d: got %s, %v\nwant %s, %v", i, got, gotErr, want, wantErr)
		}
	}
}

// FuzzMarshalAlertSet builds a set from the fuzzer's alerts (decoded as
// RaiseAlerts decodes them) and strings, and checks MarshalAlertSet's
// bytes against json.Marshal's.
func FuzzMarshalAlertSet(f *testing.F) {
	for _, in := range alertInputs() {
		f.Add([]byte(in), "Org1MSP", 1.5, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, msp string, score float64, add bool) {
		list, err := wire.Decode[[]wire.Alert](data, "alerts")
		if err != nil {
			return
		}
		s := &wire.AlertSet{MSP: msp, GatewayID: msp, BatchID: "b", RaisedTx: msp, RaisedBy: wire.Actor{MSP: msp}}
		for i, a := range list {
			if i == 0 {
				a.Score = score
			}
			if add {
				s.Add(a)
			} else {
				s.Alerts = append(s.Alerts, a)
			}
		}
		got, gotErr := wire.MarshalAlertSet(s)
		want, wantErr := json.Marshal(s)
		if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("got %s, %v\nwant %s, %v", got, gotErr, want, wantErr)
		}
	})
}
