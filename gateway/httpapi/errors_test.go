package httpapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// statusOf is what a generic endpoint answers for err (200 for nil).
func statusOf(err error) int {
	if err == nil {
		return 200
	}
	return HTTPStatus(gateway.ErrorCode(err))
}

// The ingest parsers' errors map to HTTP status through the one mapping
// (moved here from gateway/ingest with the mapping itself).
func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"malformed", ingest.Errorf(gateway.CodeInvalid, "x", 1, 0, "bad"), 400},
		{"no data", ingest.Errorf(gateway.CodeNoData, "x", 0, -1, "empty"), 400},
		{"missing field", ingest.Errorf(gateway.CodeMissingField, "x", 0, 0, "m"), 400},
		{"blank field", ingest.Errorf(gateway.CodeBlankField, "x", 0, 0, "b"), 400},
		{"invalid field", ingest.Errorf(gateway.CodeInvalidField, "x", 0, 0, "i"), 400},
		{"too large", ingest.Errorf(gateway.CodeTooLarge, "x", 0, -1, "big"), 413},
		{"unsupported", ingest.Errorf(gateway.CodeUnsupported, "x", 0, -1, "enc"), 415},
		{"internal", ingest.Errorf(gateway.CodeInternal, "x", 0, -1, "oops"), 500},
		{"wrapped", fmt.Errorf("ctx: %w", ingest.Errorf(gateway.CodeTooLarge, "x", 0, -1, "big")), 413},
		{"foreign", errors.New("other"), 500},
		{"cancelled", context.Canceled, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusOf(tt.err); got != tt.want {
				t.Errorf("HTTPStatus() = %d, want %d", got, tt.want)
			}
		})
	}
}
