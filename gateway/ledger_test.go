package gateway

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestRefusedAtEndorse(t *testing.T) {
	at := func(stage Stage, code wire.Code) error {
		return fmt.Errorf("anchoring: %w", &LedgerRejectedError{Op: "AnchorBatch", Stage: stage, Code: code, Reason: "x"})
	}
	tests := []struct {
		name string
		err  error
		code wire.Code
		want bool
	}{
		{"the code at endorsement, wrapped", at(StageEndorse, wire.CodeConflict), wire.CodeConflict, true},
		{"another code", at(StageEndorse, wire.CodeNotFound), wire.CodeConflict, false},
		{"at commit", at(StageCommit, wire.CodeConflict), wire.CodeConflict, false},
		{"unavailable, not refused", &LedgerUnavailableError{Op: "AnchorBatch", Stage: StageEndorse, Code: wire.CodeConflict, Err: errors.New("x")}, wire.CodeConflict, false},
		{"nil", nil, wire.CodeConflict, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RefusedAtEndorse(tt.err, tt.code); got != tt.want {
				t.Errorf("RefusedAtEndorse = %v, want %v", got, tt.want)
			}
		})
	}
}
