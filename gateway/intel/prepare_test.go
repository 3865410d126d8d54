package intel

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestPrepare(t *testing.T) {
	key := Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		in        Input
		wantValue string
		wantIndex int // -1: no error
	}{
		{"domain canonicalised", Input{Type: wire.IndicatorDomain, Value: "Evil.Example.", TLP: wire.TLPGreen, ValidFrom: from}, "evil.example", -1},
		{"RED refused", Input{Type: wire.IndicatorDomain, Value: "evil.example", TLP: wire.TLPRed, ValidFrom: from, StixID: "indicator--red"}, "", 0},
		{"bad value named", Input{Type: wire.IndicatorIPv4, Value: "300.1.1.1", TLP: wire.TLPClear, ValidFrom: from}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			share, values, err := Prepare("Org1MSP", key, []Input{tt.in}, bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
			if tt.wantIndex >= 0 {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Index != tt.wantIndex || ie.StixID != tt.in.StixID {
					t.Fatalf("Prepare = %v, want *InputError at %d naming %q", err, tt.wantIndex, tt.in.StixID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ind, v := share.Indicators[0], values[0]
			if got, want := v.Value, tt.wantValue; got != want {
				t.Errorf("value %q, want %q", got, want)
			}
			if got, want := ind.Hash, wire.IndicatorHash(key.Secret, tt.in.Type, tt.wantValue); got != want {
				t.Errorf("hash %s, want %s", got, want)
			}
			if got, want := ind.ID, wire.IndicatorID("Org1MSP", ind.Hash); got != want {
				t.Errorf("id %s, want %s", got, want)
			}
			if got, want := ind.ValueHash, v.ValueHash(); got != want {
				t.Errorf("valueHash %s, want the value record's %s", got, want)
			}
			if err := v.Check("value", &ind, key.Secret); err != nil {
				t.Errorf("the chaincode's check refuses the prepared value: %v", err)
			}
			if err := ind.Validate("indicator"); err != nil {
				t.Errorf("the chaincode's validation refuses the prepared record: %v", err)
			}
		})
	}
}
