package wire_test

import (
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestCheckStored: CheckStored compares the SHA-256 of the stored bytes it
// is given with the record's valueHash, so a caller passing v.Bytes() gets
// Check's answer, and bytes that are not the value's are refused.
func TestCheckStored(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	v := wire.IndicatorValue{Type: wire.IndicatorDomain, Value: "evil.example", Salt: strings.Repeat("ab", 32)}
	v.Hash = wire.IndicatorHash(key, v.Type, v.Value)
	v.ID = wire.IndicatorID("Org1MSP", v.Hash)
	ind := wire.Indicator{ID: v.ID, Hash: v.Hash, Type: v.Type, KeyID: "k1", ValueHash: v.ValueHash()}
	other := v
	other.Salt = strings.Repeat("cd", 32)
	tests := []struct {
		name    string
		stored  []byte
		wantErr bool
	}{
		{"the value's own bytes", v.Bytes(), false},
		{"another value's bytes", other.Bytes(), true},
		{"no bytes", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.CheckStored("v", &ind, key, tt.stored)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("CheckStored error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if got, want := wire.ValueHashOf(v.Bytes()), v.ValueHash(); got != want {
		t.Errorf("wire.ValueHashOf(v.Bytes()) = %s, want ValueHash() %s", got, want)
	}
	if err := v.Check("v", &ind, key); err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
}
