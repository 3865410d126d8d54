package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// endorsement is what one ShareIndicators proposal carried.
type endorsement struct {
	arg                string
	share, values, key bool // present in the transient map
}

// TestShareFallsBackToTheArgumentForm: Share sends its records in the
// transient map, without what the chaincode derives, with an empty
// argument; a chaincode older than that form refuses the empty argument
// or the slim records (wire.CodeInvalid), and Share then sends the full
// records as the argument. Other refusals are not retried in the other
// form.
func TestShareFallsBackToTheArgumentForm(t *testing.T) {
	ind := wire.Indicator{ID: strings.Repeat("a", 64), TLP: wire.TLPGreen}
	val := wire.IndicatorValue{ID: ind.ID, Value: "evil.example"}
	share := wire.IndicatorShare{Indicators: []wire.Indicator{ind}}
	share.Indicators[0].ValueHash = val.ValueHash()
	argJSON, err := json.Marshal(share)
	if err != nil {
		t.Fatal(err)
	}
	arg := string(argJSON)
	slim := wire.IndicatorShare{Indicators: []wire.Indicator{{TLP: wire.TLPGreen}}}
	slimJSON, err := json.Marshal(slim)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// chaincode answers a proposal from its argument.
		chaincode func(arg string) error
		want      []endorsement
		wantCode  wire.Code // "" success
	}{
		{"current chaincode: one endorsement, records in the transient map",
			func(string) error { return nil },
			[]endorsement{{"", true, true, true}}, ""},
		{"older chaincode: the empty argument refused, the argument form accepted",
			func(a string) error {
				if a == "" {
					return refused(t, wire.CodeInvalid, "share: malformed JSON: EOF")
				}
				return nil
			},
			[]endorsement{{"", true, true, true}, {arg, false, true, true}}, ""},
		{"an invalid share is refused in both forms",
			func(string) error {
				return refused(t, wire.CodeInvalid, "indicators[0].tlp: RED is never shared")
			},
			[]endorsement{{"", true, true, true}, {arg, false, true, true}}, wire.CodeInvalid},
		{"another refusal is not retried",
			func(string) error { return refused(t, wire.CodeDenied, "needs the intel role") },
			[]endorsement{{"", true, true, true}}, wire.CodeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []endorsement
			)
			f := &fakePeer{result: []byte("{}"), endorse: func(args []string, tm map[string][]byte) error {
				mu.Lock()
				defer mu.Unlock()
				if len(args) != 1 {
					t.Errorf("ShareIndicators proposal with %d arguments, want 1", len(args))
					return nil
				}
				_, hasShare := tm[wire.TransientIntelShare]
				_, hasValues := tm[wire.TransientIntelValues]
				_, hasKey := tm[wire.TransientIntelKey]
				got = append(got, endorsement{args[0], hasShare, hasValues, hasKey})
				if hasShare && string(tm[wire.TransientIntelShare]) != string(slimJSON) {
					t.Errorf("transient share %s, want %s (without id, sharer, type and valueHash)", tm[wire.TransientIntelShare], slimJSON)
				}
				return tt.chaincode(args[0])
			}}
			l := newFakeLedger(t, f)
			res, err := l.Share(context.Background(), wire.IndicatorShare{Indicators: []wire.Indicator{ind}},
				[]wire.IndicatorValue{val}, intel.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
			var rej *gateway.LedgerRejectedError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("Share: %v", err)
			case tt.wantCode == "" && len(res.SharedTxs) != 1:
				t.Errorf("SharedTxs %v, want one transaction", res.SharedTxs)
			case tt.wantCode != "" && !errors.As(err, &rej):
				t.Fatalf("Share: %v (%T), want *gateway.LedgerRejectedError", err, err)
			case tt.wantCode != "" && (rej.Code != tt.wantCode || rej.Stage != gateway.StageEndorse):
				t.Errorf("refused with %s at %s, want %s at %s", rej.Code, rej.Stage, tt.wantCode, gateway.StageEndorse)
			}
			mu.Lock()
			defer mu.Unlock()
			checkEndorsements(t, got, tt.want)
		})
	}
}
