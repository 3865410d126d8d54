package onfabric

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric/fabricerr"
)

func TestLaggingEndorserIsTransient(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		wantTransient bool
	}{
		{"endorser without the response yet",
			status.Error(codes.Aborted, `chaincode response 500, RecordOutcome: response "ab12" not found`), true},
		{"other refusal stays final",
			status.Error(codes.Aborted, "chaincode response 500, RecordOutcome: access denied"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lagging(fabricerr.Classify("RecordOutcome", "", tt.err))
			if got := errors.Is(err, gateway.ErrLedgerUnavailable); got != tt.wantTransient {
				t.Fatalf("lagging(Classify(%v)) = %v, transient %v, want %v", tt.err, err, got, tt.wantTransient)
			}
		})
	}
}
