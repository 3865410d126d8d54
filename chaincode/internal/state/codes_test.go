package state

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestErrorCodes(t *testing.T) {
	peer := errors.New("peer unavailable")
	tests := []struct {
		name string
		err  wire.Coder
		want wire.Code
	}{
		{"not found", &NotFoundError{Kind: "batch", ID: "b"}, wire.CodeNotFound},
		{"conflict", &ConflictError{Kind: "batch", ID: "b", Reason: "r"}, wire.CodeConflict},
		{"state", &StateError{Kind: "policy", ID: "p", State: "active", Action: "approve"}, wire.CodeState},
		{"get", &LedgerError{Op: "get", Key: "k", Err: peer}, wire.CodeUnavailable},
		{"put", &LedgerError{Op: "put", Key: "k", Err: peer}, wire.CodeUnavailable},
		{"delete", &LedgerError{Op: "delete", Key: "k", Err: peer}, wire.CodeUnavailable},
		{"scan", &LedgerError{Op: "scan", Key: "k", Err: peer}, wire.CodeInternal},
		{"count", &LedgerError{Op: "count", Key: "k", Err: peer}, wire.CodeInternal},
		{"history", &LedgerError{Op: "history", Key: "k", Err: peer}, wire.CodeInternal},
		{"set event", &LedgerError{Op: "set event", Key: "k", Err: peer}, wire.CodeInternal},
		{"decode", &LedgerError{Op: "decode", Key: "k", Err: peer}, wire.CodeInternal},
		{"decode history", &LedgerError{Op: "decode history", Key: "k", Err: peer}, wire.CodeInternal},
		{"encode", &LedgerError{Op: "encode", Key: "k", Err: peer}, wire.CodeInternal},
		{"encode event", &LedgerError{Op: "encode event", Key: "k", Err: peer}, wire.CodeInternal},
		{"tx timestamp", &LedgerError{Op: "read tx timestamp", Err: peer}, wire.CodeInternal},
		{"inconsistent get", &LedgerError{Op: "get", Key: "k", Err: Inconsistent("locator without record")}, wire.CodeInternal},
		{"inconsistent scan", &LedgerError{Op: "scan", Key: "k", Err: Inconsistent("more than %d records", 3)}, wire.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.ErrorCode(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			var e *wire.Error
			if !errors.As(wire.Encode(fmt.Errorf("Fn: %w", tt.err)), &e) || e.Code != tt.want {
				t.Errorf("Encode gave %v, want code %s", e, tt.want)
			}
		})
	}
}
