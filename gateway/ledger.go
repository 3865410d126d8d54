package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Anchor is where a batch was recorded on the ledger.
type Anchor struct {
	TxID        string `json:"tx_id"`
	BlockNumber uint64 `json:"block_number"`
	// Replayed is true when the ledger already held this batch id and the
	// transaction wrote nothing (a retry after a lost acknowledgement).
	Replayed bool `json:"replayed,omitempty"`
}

// Ledger is what the gateway needs from the consortium's ledger to anchor
// its log. Implementations classify failures: an error that wraps
// ErrLedgerUnavailable may succeed if retried; a *LedgerRejectedError will
// not, whatever the number of retries.
type Ledger interface {
	// AnchorBatch records a sealed batch on the ledger and returns once the
	// transaction is committed (valid) or has definitely failed.
	AnchorBatch(ctx context.Context, b Batch) (Anchor, error)
}

// ErrLedgerUnavailable marks a transient ledger failure: peers or orderers
// unreachable, timeouts, MVCC conflicts. Retrying later is correct. Ledger
// adapters return it wrapped in a *LedgerUnavailableError, which names the
// call, stage and transaction; errors.Is(err, ErrLedgerUnavailable) finds it.
var ErrLedgerUnavailable = errors.New("ledger unavailable")

// ErrLedgerConflict marks a transaction committed invalid because it raced
// another one (an MVCC or phantom read conflict): it read state that a
// transaction in the same or an earlier block changed. It is always found
// inside a *LedgerUnavailableError (a retry reads the new state), so
// errors.Is(err, ErrLedgerConflict) tells a caller that submits
// transactions concurrently that they overlap, not that the ledger is down.
var ErrLedgerConflict = errors.New("read conflict with a concurrent transaction")

// LedgerUnavailableError is a transient failure of one ledger call: the
// same call may succeed if retried later. Code is the chaincode's code when
// the chaincode itself said so (wire.CodeUnavailable, or a code the caller
// knows to be transient in its context, e.g. wire.CodeNotFound from a
// lagging endorser) and empty for Fabric's own failures (peer unreachable,
// timeout, MVCC conflict). TxID is set when a transaction id exists. It
// matches ErrLedgerUnavailable with errors.Is and unwraps to its cause.
type LedgerUnavailableError struct {
	Op    string
	Stage Stage
	TxID  string
	Code  wire.Code
	Err   error
}

// Error implements error.
func (e *LedgerUnavailableError) Error() string {
	tx := ""
	if e.TxID != "" {
		tx = " (tx " + e.TxID + ")"
	}
	return fmt.Sprintf("%s%s at %s: %v: %v", e.Op, tx, e.Stage, ErrLedgerUnavailable, e.Err)
}

// Is reports ErrLedgerUnavailable, so callers test transience with errors.Is.
func (e *LedgerUnavailableError) Is(target error) bool { return target == ErrLedgerUnavailable }

// Unwrap returns the cause (e.g. context.DeadlineExceeded, a gRPC status).
func (e *LedgerUnavailableError) Unwrap() error { return e.Err }

// MayHaveCommitted reports whether err, from submitting a transaction,
// leaves open whether it committed: a transient failure once it was sent
// to the orderers (StageSubmit: they may have ordered it; StageCommit: no
// commit status within the bound, or the peer could not be asked) that
// is not a read conflict (a transaction committed invalid). A caller
// whose transaction is not recognised on replay must not simply submit
// it again after such an error.
func MayHaveCommitted(err error) bool {
	var ue *LedgerUnavailableError
	if !errors.As(err, &ue) || errors.Is(err, ErrLedgerConflict) {
		return false
	}
	return ue.Stage == StageSubmit || ue.Stage == StageCommit
}

// Stage is the step of a ledger call that failed, as fabric-gateway's
// per-stage errors name them.
type Stage string

// The stages of a ledger call, in the order a submit goes through them.
const (
	StageEvaluate Stage = "evaluate"
	StageEndorse  Stage = "endorse"
	StageSubmit   Stage = "submit"
	StageCommit   Stage = "commit"
)

// LedgerRejectedError is a permanent refusal by the ledger: the chaincode
// rejected the transaction (bad input, access denied, a batch that does not
// extend the previous tree) or it was committed invalid for a reason a retry
// cannot fix. TxID is set when a transaction id exists; Code is the
// chaincode's machine-readable code (wire.CodeInternal when the refusal
// came from Fabric itself, e.g. a transaction committed invalid), so callers
// decide on Code, never on Reason's wording.
type LedgerRejectedError struct {
	Op     string
	Stage  Stage
	TxID   string
	Code   wire.Code
	Reason string
}

// Error implements error.
func (e *LedgerRejectedError) Error() string {
	if e.TxID != "" {
		return fmt.Sprintf("ledger rejected %s (tx %s): %s", e.Op, e.TxID, e.Reason)
	}
	return fmt.Sprintf("ledger rejected %s: %s", e.Op, e.Reason)
}

// RefusedAtEndorse reports whether err is a LedgerRejectedError with code
// at endorsement: how an endorser that has not yet committed the block the
// submitting peer has refuses a transaction reading what that block wrote
// (the anchorer's previous anchor, the alerter's batch).
func RefusedAtEndorse(err error, code wire.Code) bool {
	var rej *LedgerRejectedError
	return errors.As(err, &rej) && rej.Code == code && rej.Stage == StageEndorse
}

// The quick retries after a RefusedAtEndorse from an endorser one block
// behind: up to BehindTries pauses of BehindPause, about two blocks at the
// network's BatchTimeout, before a pipeline's usual backoff (which would
// hold every event behind the refused transaction back). A refusal that is
// real keeps coming and takes the backoff after them.
const (
	BehindPause = 20 * time.Millisecond
	BehindTries = 10
)

// ChaincodeEvent is one event the ledgerguard chaincode emitted, as the
// ledger adapter delivers it (gateway/fabric) and the pipelines that react
// to events consume it (gateway/respond), so neither imports the other.
type ChaincodeEvent struct {
	// Name is the event name (wire.Event* constants).
	Name string
	// BlockNumber is the block holding the emitting transaction.
	BlockNumber uint64
	// TxID is the emitting transaction.
	TxID string
	// Payload is the event's JSON payload.
	Payload []byte
}
