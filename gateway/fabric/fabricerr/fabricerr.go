// Package fabricerr maps the errors of the fabric-gateway client to the
// gateway's two kinds of ledger failure, in one place for every caller
// (the ledger adapter in gateway/fabric and the responder's in
// gateway/respond/onfabric): an error wrapping gateway.ErrLedgerUnavailable
// may succeed if retried; a *gateway.LedgerRejectedError will not.
//
// Permanent: the chaincode's own refusal (the peers report "chaincode
// response 500"), invalid-request gRPC codes, and transactions committed
// invalid for a reason other than a race. Transient: everything else —
// peers or orderers unreachable, timeouts, MVCC and phantom conflicts,
// endorsements that disagree because a peer is behind.
package fabricerr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// chaincodeRefusal is how peers report a chaincode's error response.
const chaincodeRefusal = "chaincode response 500"

// Classify maps err from operation op (txID when known; a
// client.TransactionError's own id is used otherwise).
func Classify(op, txID string, err error) error {
	var commitErr *client.CommitError
	if errors.As(err, &commitErr) {
		return ClassifyCode(op, commitErr.TransactionID, commitErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s (tx %s): %w: %w", op, txID, gateway.ErrLedgerUnavailable, err)
	}
	var txErr *client.TransactionError
	if txID == "" && errors.As(err, &txErr) {
		txID = txErr.TransactionID
	}
	if Refused(err) {
		return &gateway.LedgerRejectedError{Op: op, TxID: txID, Reason: Details(err)}
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.NotFound:
			return &gateway.LedgerRejectedError{Op: op, TxID: txID, Reason: Details(err)}
		}
	}
	return fmt.Errorf("%s (tx %s): %w: %w", op, txID, gateway.ErrLedgerUnavailable, err)
}

// ClassifyCode maps the validation code of a transaction committed invalid.
// MVCC and phantom read conflicts are races with another transaction (a
// retry reads the new state); a duplicate id is a retry racing itself.
func ClassifyCode(op, txID string, code peer.TxValidationCode) error {
	switch code {
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT, peer.TxValidationCode_DUPLICATE_TXID:
		return fmt.Errorf("%s (tx %s) committed invalid (%s): %w", op, txID, code, gateway.ErrLedgerUnavailable)
	}
	return &gateway.LedgerRejectedError{Op: op, TxID: txID, Reason: "committed invalid: " + code.String()}
}

// Details returns an error's message followed by each peer's own message
// (labelled with its MSP), where the chaincode's explanation travels.
func Details(err error) string {
	s, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	msg := s.Message()
	for _, d := range s.Details() {
		if ed, ok := d.(interface {
			GetMspId() string
			GetMessage() string
		}); ok {
			msg += "; " + ed.GetMspId() + ": " + ed.GetMessage()
		}
	}
	return msg
}

// Refused reports whether the peers answered with the chaincode's own
// error (the chaincode ran and refused), rather than failing to answer.
func Refused(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	if strings.Contains(s.Message(), chaincodeRefusal) {
		return true
	}
	for _, d := range s.Details() {
		if ed, ok := d.(interface{ GetMessage() string }); ok && strings.Contains(ed.GetMessage(), chaincodeRefusal) {
			return true
		}
	}
	return false
}
