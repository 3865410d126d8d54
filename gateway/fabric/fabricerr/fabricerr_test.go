package fabricerr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		wantTransient bool
	}{
		{"peer down", status.Error(codes.Unavailable, "connection refused"), true},
		{"deadline", fmt.Errorf("evaluate: %w", context.DeadlineExceeded), true},
		{"chaincode refusal", status.Error(codes.Aborted, "chaincode response 500, RecordOutcome: access denied"), false},
		{"permission denied", status.Error(codes.PermissionDenied, "creator org unknown"), false},
		{"mvcc", &client.CommitError{TransactionID: "tx", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}, true},
		{"phantom", &client.CommitError{TransactionID: "tx", Code: peer.TxValidationCode_PHANTOM_READ_CONFLICT}, true},
		{"endorsement policy", &client.CommitError{TransactionID: "tx", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE}, false},
		{"unknown", errors.New("something odd"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify("Op", "", tt.err)
			transient := errors.Is(err, gateway.ErrLedgerUnavailable)
			var rej *gateway.LedgerRejectedError
			if transient != tt.wantTransient || transient == errors.As(err, &rej) {
				t.Fatalf("Classify(%v) = %v (transient %v), want transient %v", tt.err, err, transient, tt.wantTransient)
			}
		})
	}
}
