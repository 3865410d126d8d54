package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// The store's errors classify themselves (gateway.Coder), so the HTTP
// adapter maps them to a status without knowing the store's types.
func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want gateway.Code
	}{
		{"event not found", &EventNotFoundError{ID: "x"}, gateway.CodeNotFound},
		{"batch not found", fmt.Errorf("get: %w", &BatchNotFoundError{BatchID: "b"}), gateway.CodeNotFound},
		{"tree size", &TreeSizeError{What: "tree size", Requested: 9, Size: 3}, gateway.CodeInvalid},
		{"fatal", &FatalError{Op: "append", Err: errors.New("fsync")}, gateway.CodeStoreFailed},
		{"closed", fmt.Errorf("append: %w", ErrClosed), gateway.CodeUnavailable},
		{"corrupt", &CorruptRecordError{Key: "k", Err: errors.New("crc")}, gateway.CodeInternal},
		{"invalid event", &InvalidEventError{Index: 0, Err: ErrBadID}, gateway.CodeInternal},
		{"invalid event value", &InvalidEventError{Index: 0, Err: &gateway.InvalidValueError{Field: "time", Err: gateway.ErrTimeRange}}, gateway.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gateway.ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrClosed), ErrClosed) || ErrClosed.Error() != "store: closed" {
		t.Errorf("ErrClosed = %q, must stay matchable with errors.Is and keep its text", ErrClosed)
	}
}
