package fabric

import (
	"context"
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// classify maps the failure of ledger call op to the gateway's two kinds of
// ledger failure, in one place for every call this package makes: a
// *gateway.LedgerUnavailableError (wraps gateway.ErrLedgerUnavailable) may
// succeed if retried; a *gateway.LedgerRejectedError will not. Both carry
// the stage that failed (from fabric-gateway's per-stage error types; def
// when err carries none, i.e. an evaluation) and the transaction id.
//
// The decision is made on codes, never on wording:
//   - a refusal the chaincode encoded (wire.ParseError finds
//     "ledgerguard/<CODE>: ..." in a peer's message): wire.CodeUnavailable is
//     transient, every other code is a rejection carrying that code;
//   - a transaction committed invalid: MVCC and phantom read conflicts and a
//     duplicate id are races (transient), any other validation code is a
//     rejection;
//   - otherwise Fabric's own gRPC status: InvalidArgument, PermissionDenied,
//     Unauthenticated and NotFound are rejections (wire.CodeInternal), and
//     everything else — unreachable peers or orderers, deadlines, aborted
//     endorsements without a ledgerguard code (an endorser down, endorsements
//     that disagree because a peer is behind) — is transient.
//
// An uncoded Aborted is transient because it cannot be the chaincode
// refusing: every error response the chaincode sends carries a code (its
// contracts encode their refusals with wire.Encode, and chaincode/coded.go
// codes contractapi's own refusals, such as an unknown function or a wrong
// argument count, as wire.CodeInvalid). What is left is Fabric itself
// failing to endorse, which a retry may get past.
func classify(op string, def gateway.Stage, err error) error {
	if err == nil {
		return nil
	}
	stage, txID := stageOf(err, def)
	var commitErr *client.CommitError
	if errors.As(err, &commitErr) {
		return committedInvalid(op, commitErr.TransactionID, commitErr.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &gateway.LedgerUnavailableError{Op: op, Stage: stage, TxID: txID, Err: err}
	}
	if ref, ok := refusal(err); ok {
		if ref.Code == wire.CodeUnavailable {
			return &gateway.LedgerUnavailableError{Op: op, Stage: stage, TxID: txID, Code: ref.Code, Err: ref}
		}
		return &gateway.LedgerRejectedError{Op: op, Stage: stage, TxID: txID, Code: ref.Code, Reason: ref.Message}
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.NotFound:
			return &gateway.LedgerRejectedError{Op: op, Stage: stage, TxID: txID, Code: wire.CodeInternal, Reason: details(err)}
		}
	}
	return &gateway.LedgerUnavailableError{Op: op, Stage: stage, TxID: txID, Err: errors.New(details(err))}
}

// committedInvalid maps the validation code of a transaction committed
// invalid. MVCC and phantom read conflicts are races with another
// transaction (a retry reads the new state; they wrap
// gateway.ErrLedgerConflict so concurrent submitters can tell); a
// duplicate id is a retry racing itself.
func committedInvalid(op, txID string, code peer.TxValidationCode) error {
	switch code {
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT:
		return &gateway.LedgerUnavailableError{Op: op, Stage: gateway.StageCommit, TxID: txID,
			Err: fmt.Errorf("committed invalid (%s): %w", code, gateway.ErrLedgerConflict)}
	case peer.TxValidationCode_DUPLICATE_TXID:
		return &gateway.LedgerUnavailableError{Op: op, Stage: gateway.StageCommit, TxID: txID,
			Err: fmt.Errorf("committed invalid (%s)", code)}
	}
	return &gateway.LedgerRejectedError{Op: op, Stage: gateway.StageCommit, TxID: txID, Code: wire.CodeInternal,
		Reason: "committed invalid: " + code.String()}
}

// stageOf returns the stage fabric-gateway's error type names and the
// transaction id it carries; def and "" when err is none of them.
func stageOf(err error, def gateway.Stage) (gateway.Stage, string) {
	var (
		commitErr  *client.CommitError
		statusErr  *client.CommitStatusError
		submitErr  *client.SubmitError
		endorseErr *client.EndorseError
	)
	switch {
	case errors.As(err, &commitErr):
		return gateway.StageCommit, commitErr.TransactionID
	case errors.As(err, &statusErr):
		return gateway.StageCommit, statusErr.TransactionID
	case errors.As(err, &submitErr):
		return gateway.StageSubmit, submitErr.TransactionID
	case errors.As(err, &endorseErr):
		return gateway.StageEndorse, endorseErr.TransactionID
	}
	return def, ""
}

// refusal returns the chaincode's encoded refusal carried by err: in the
// peers' error details (one per endorser that refused) or the status
// message. When endorsers disagree, a final code wins over
// wire.CodeUnavailable: one final refusal makes the transaction fail
// whatever the others say.
func refusal(err error) (*wire.Error, bool) {
	var texts []string
	if s, ok := status.FromError(err); ok {
		for _, d := range s.Details() {
			if ed, ok := d.(*gwproto.ErrorDetail); ok {
				texts = append(texts, ed.GetMessage())
			}
		}
		texts = append(texts, s.Message())
	} else {
		texts = append(texts, err.Error())
	}
	var found *wire.Error
	for _, t := range texts {
		e, ok := wire.ParseError(t)
		if !ok {
			continue
		}
		if e.Code != wire.CodeUnavailable {
			return e, true
		}
		if found == nil {
			found = e
		}
	}
	return found, found != nil
}

// details returns an error's message followed by each peer's own message
// (labelled with its MSP), where Fabric's explanation travels.
func details(err error) string {
	s, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	msg := s.Message()
	for _, d := range s.Details() {
		if ed, ok := d.(*gwproto.ErrorDetail); ok {
			msg += "; " + ed.GetMspId() + ": " + ed.GetMessage()
		}
	}
	return msg
}
