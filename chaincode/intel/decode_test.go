package intel

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func sampleShare() ([]byte, []byte) {
	at := wire.NewTime(time.Date(2026, 12, 5, 8, 0, 0, 123, time.UTC))
	inds := []wire.Indicator{
		{Hash: "ab", KeyID: "k1", Confidence: 80, TLP: wire.TLPGreen, ValidFrom: at, ValidUntil: wire.NewTime(at.Add(time.Hour)),
			Techniques: []string{"T1071"}, StixID: "indicator--1"},
		{ID: "cd", Hash: "ef", KeyID: "k1", Type: wire.IndicatorURL, Confidence: -3, TLP: wire.TLPAmber, Recipients: []string{"Org1MSP", "Org2MSP"},
			ValidFrom: at, KillChainPhase: "c2", StixID: "indicator--<&>\u2028é", ValueHash: "00", SharedBy: "Org1MSP", Techniques: []string{}},
	}
	vals := []wire.IndicatorValue{{ID: "a", Hash: "b", Type: wire.IndicatorDomain, Value: "evil.example", Salt: "c",
		Stix: `{"type":"indicator","name":"a \"quoted\" \\ name & <tag>","pattern":"[url:value = 'http://x/?a=1&b=2']"}`}}
	s, _ := json.Marshal(wire.IndicatorShare{Indicators: inds})
	v, _ := json.Marshal(vals)
	return s, v
}

// TestFastDecode: what the gateway writes is decoded by the fast path
// (escapes and non-ASCII included) to what wire.Decode gives; anything
// else falls back to wire.Decode, errors included.
func TestFastDecode(t *testing.T) {
	s, v := sampleShare()
	d := scan{b: s}
	gotS, ok := d.share()
	if !ok || !d.end() {
		t.Fatalf("the fast path gives up on the gateway's share %s", s)
	}
	wantS, err := wire.Decode[wire.IndicatorShare](s, "share")
	if err != nil || !reflect.DeepEqual(gotS, wantS) {
		t.Errorf("fast share:\n got %+v\nwant %+v (%v)", gotS, wantS, err)
	}
	d = scan{b: v}
	gotV, ok := d.values()
	if !ok || !d.end() {
		t.Fatalf("the fast path gives up on the gateway's values %s", v)
	}
	if wantV, err := wire.Decode[[]wire.IndicatorValue](v, "values"); err != nil || !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("fast values:\n got %+v\nwant %+v (%v)", gotV, wantV, err)
	}
	tests := []struct {
		in      string
		wantErr bool
	}{
		{`{"indicators":[{"ID":"x"}]}`, false},                 // encoding/json matches names case-insensitively
		{`{"indicators":[{"id":"x","id":"y"}]}`, false},        // a repeated member: last wins
		{`{"indicators":[{"confidence":1e2}]}`, true},          // not an integer for an int
		{`{"indicators":[{"validFrom":null}]}`, true},          // wire.Time refuses null
		{`{"indicators":[{"valueOnLedger":true}]}`, false},     // decoded, refused later by Validate
		{`{"indicators":[{"stixId":"\ud83d\ude00"}]}`, false},  // a surrogate pair
		{`{"indicators":[{"nope":1}]}`, true},                  // unknown member
		{`{"indicators":[]} x`, true},                          // trailing data
		{`{"indicators":[{"hash":"a` + "\xff" + `"}]}`, false}, // invalid UTF-8: replaced
		{`{"indicators":[{"validFrom":"2026-12-05T08:00:00+01:00"}]}`, false},
	}
	for _, tt := range tests {
		got, err := decodeShare([]byte(tt.in))
		want, wantErr := wire.Decode[wire.IndicatorShare]([]byte(tt.in), "share")
		var ve *wire.ValidationError
		switch {
		case tt.wantErr && (!errors.As(err, &ve) || err.Error() != wantErr.Error()):
			t.Errorf("decodeShare(%s) error %v, want wire.Decode's %v", tt.in, err, wantErr)
		case !tt.wantErr && (err != nil || !reflect.DeepEqual(got, want)):
			t.Errorf("decodeShare(%s) = %+v, %v; want %+v", tt.in, got, err, want)
		}
	}
}

// FuzzFastDecode: whatever the fast path accepts, wire.Decode accepts as
// the same value (decodeShare and decodeValues are wire.Decode, faster).
func FuzzFastDecode(f *testing.F) {
	s, v := sampleShare()
	f.Add(s)
	f.Add(v)
	f.Add([]byte(`{"indicators":[{"confidence":-0,"techniques":[],"tlp":"\u0047REEN\n"}]}`))
	f.Add([]byte(`[{"id":"a","stix":"{\"x\":\"\\u00e9\"}"},{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := scan{b: data}
		if got, ok := d.share(); ok && d.end() {
			want, err := wire.Decode[wire.IndicatorShare](data, "share")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("fast share of %q = %+v; wire.Decode %+v, %v", data, got, want, err)
			}
		}
		d = scan{b: data}
		if got, ok := d.values(); ok && d.end() {
			want, err := wire.Decode[[]wire.IndicatorValue](data, "values")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("fast values of %q = %+v; wire.Decode %+v, %v", data, got, want, err)
			}
		}
	})
}
