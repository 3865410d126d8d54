// Package connector defines how the responder carries out one action of a
// response: the [Connector] interface every connector package implements
// (gateway/connector/webhook, /rest, /notify), the [Request] that tells a
// connector which ledger records it acts for, the typed configuration each
// connector is built from, and the error classification the responder's
// retry loop relies on.
//
// Guarantees every connector of this tree keeps:
//   - it sends the request's IdempotencyKey (derived from the response id)
//     in an Idempotency-Key header, so a receiver can drop a repeated call;
//   - every failure is an *[Error] whose Retryable field says whether
//     calling again may help (network errors, timeouts, HTTP 408, 429 and
//     5xx) or cannot (other 4xx, bad configuration, a template that does
//     not render);
//   - credentials come only from its configuration (where ${VAR} names an
//     environment variable, see [ExpandEnv]), never from the ledger.
package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// IdempotencyHeader is the HTTP header carrying [Request.IdempotencyKey],
// the name Stripe and the IETF httpapi draft use.
const IdempotencyHeader = "Idempotency-Key"

// Request is the ledger context of one action: which response, alert,
// batch, policy and transaction it belongs to. Connectors put these
// references into what they send so the receiving system can link back to
// the ledger.
type Request struct {
	// ResponseID is the ledger response (wire.ResponseID).
	ResponseID string `json:"responseId"`
	// AlertID and BatchID address the alert on the ledger.
	AlertID string `json:"alertId"`
	BatchID string `json:"batchId,omitempty"`
	// PolicyID and PolicyVersion name the policy version that decided it.
	PolicyID      string `json:"policyId"`
	PolicyVersion uint32 `json:"policyVersion"`
	// MSP and GatewayID are the organisation and gateway that raised the
	// alert and execute the response.
	MSP       string `json:"msp"`
	GatewayID string `json:"gatewayId"`
	// Target is what the policy's rate limit counts (e.g. the asset).
	Target string `json:"target,omitempty"`
	// TxID is the transaction whose chaincode event announced the request
	// (RaiseAlerts, ApproveResponse or RequestRollback).
	TxID string `json:"txId"`
	// CreatedTx is the transaction that created the response (the
	// RaiseAlerts transaction that recorded the alert).
	CreatedTx string `json:"createdTx,omitempty"`
	// ActionIndex is the position of the action in the response.
	ActionIndex int `json:"actionIndex"`
	// IdempotencyKey is the same on every attempt, after every restart, for
	// this action of this response: the response id for the first action,
	// "<response id>/<n>" for the n-th further one, with "/rollback"
	// appended for a rollback.
	IdempotencyKey string `json:"idempotencyKey"`
	// Alert is the alert as recorded on the ledger, when the responder
	// could read it; nil otherwise.
	Alert *wire.Alert `json:"alert,omitempty"`
}

// IdempotencyKey returns the key of action index of a response, as
// documented on [Request.IdempotencyKey].
func IdempotencyKey(responseID string, index int, rollback bool) string {
	k := responseID
	if index > 0 {
		k = fmt.Sprintf("%s/%d", responseID, index)
	}
	if rollback {
		k += "/rollback"
	}
	return k
}

// Connector carries out one action type. Execute must honour ctx (the
// responder sets the per-attempt timeout on it) and returns a short detail
// for the ledger on success (e.g. "HTTP 201 case ~4096"). Errors must be
// *Error so the responder can tell retryable from permanent failures.
type Connector interface {
	Execute(ctx context.Context, action wire.Action, req Request) (detail string, err error)
}

// RollbackConnector is a Connector that can undo what Execute did (e.g.
// release an isolated host). Rollback follows Execute's rules.
type RollbackConnector interface {
	Connector
	Rollback(ctx context.Context, action wire.Action, req Request) (detail string, err error)
}

// Error is a connector failure. StatusCode is the receiver's HTTP status
// when it answered (0 otherwise).
type Error struct {
	Connector  string
	Retryable  bool
	StatusCode int
	Err        error
}

// Error implements error.
func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: %s failure: HTTP %d: %v", e.Connector, kind, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("%s: %s failure: %v", e.Connector, kind, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable wraps err as a failure worth retrying.
func Retryable(connector string, err error) *Error {
	return &Error{Connector: connector, Retryable: true, Err: err}
}

// Permanent wraps err as a failure no retry can fix.
func Permanent(connector string, err error) *Error {
	return &Error{Connector: connector, Err: err}
}

// IsRetryable reports whether err is a connector failure worth retrying.
// A bare context deadline (the per-attempt timeout) is retryable; an error
// that is not an *Error, or a cancelled parent context, is not.
func IsRetryable(err error) bool {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Retryable
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408
// Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx.
func RetryableStatus(code int) bool {
	return code == 408 || code == 425 || code == 429 || code >= 500
}
