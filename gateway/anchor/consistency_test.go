package anchor

import (
	"errors"
	"testing"
)

func TestCheckLedger(t *testing.T) {
	tests := []struct {
		name                            string
		ledger, storeSize, storeAnchord uint64
		wantErr                         bool
	}{
		{"fresh gateway", 0, 0, 0, false},
		{"in step", 100, 120, 100, false},
		{"ledger ahead of the store's belief (crash before MarkAnchored)", 110, 120, 100, false},
		{"new store under a reused gateway id", 2, 0, 0, true},
		{"ledger ahead of the whole store", 130, 120, 100, true},
		{"ledger reset under an old store", 0, 120, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLedger("Org1MSP/gw", tt.ledger, tt.storeSize, tt.storeAnchord)
			var m *MismatchError
			if got := errors.As(err, &m); got != tt.wantErr {
				t.Fatalf("CheckLedger = %v, want mismatch %v", err, tt.wantErr)
			}
		})
	}
}
