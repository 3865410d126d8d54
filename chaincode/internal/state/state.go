// Package state wraps the world-state calls every contract makes so that
// each one fails closed in the same way: any error from GetState,
// PutState, SetEvent, an iterator or a history query aborts the
// transaction with a *LedgerError naming the operation and key; a stored
// value that does not decode is an error too, never a silent "absent".
// It also defines the domain errors contracts return (*NotFoundError,
// *ConflictError, *StateError), all inspectable with errors.As and each
// carrying its wire.Code (wire.Coder) for wire.Encode.
package state

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// LedgerError is a failed world-state operation. The transaction must
// abort: a read that failed is never treated as "not found".
type LedgerError struct {
	Op  string
	Key string
	Err error
}

// Error implements error.
func (e *LedgerError) Error() string {
	return fmt.Sprintf("ledger %s %q: %v", e.Op, printable(e.Key), e.Err)
}

// Unwrap returns the underlying error.
func (e *LedgerError) Unwrap() error { return e.Err }

// ErrorCode implements wire.Coder. A failed point read or write (get,
// put, delete) is wire.CodeUnavailable: the peer's state database may
// answer the same call when retried. Every other failure is
// wire.CodeInternal, retrying cannot help: a failing scan, count or
// history query (history database disabled, a malformed bookmark, a
// paginated query inside a submit — the shim reports these as plain
// errors, so they cannot be told apart from each other by type), a
// rejected event (empty name), a value that does not decode or encode,
// a bad transaction timestamp, an *InconsistentError cause.
func (e *LedgerError) ErrorCode() wire.Code {
	var c wire.Coder
	if errors.As(e.Err, &c) {
		return c.ErrorCode()
	}
	switch e.Op {
	case "get", "put", "delete":
		return wire.CodeUnavailable
	}
	return wire.CodeInternal
}

// InconsistentError is the cause of a *LedgerError when the world state
// contradicts itself or a bound the chaincode keeps (a locator without its
// record, more records than the chaincode ever writes): a bug or a
// tampered state, never transient.
type InconsistentError struct {
	Reason string
}

// Error implements error: the reason alone, as the *LedgerError names the
// operation and key.
func (e *InconsistentError) Error() string { return e.Reason }

// ErrorCode implements wire.Coder: wire.CodeInternal.
func (e *InconsistentError) ErrorCode() wire.Code { return wire.CodeInternal }

// Inconsistent returns an *InconsistentError with a formatted reason.
func Inconsistent(format string, args ...any) error {
	return &InconsistentError{Reason: fmt.Sprintf(format, args...)}
}

// NotFoundError is returned when a record the caller named does not exist.
type NotFoundError struct {
	Kind string
	ID   string
}

// Error implements error.
func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }

// ErrorCode implements wire.Coder: wire.CodeNotFound.
func (e *NotFoundError) ErrorCode() wire.Code { return wire.CodeNotFound }

// ConflictError is returned when input contradicts what the ledger holds
// (a batch that does not extend the checkpoint, a version already used
// with other content, membership already set to another set).
type ConflictError struct {
	Kind   string
	ID     string
	Reason string
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict on %s %q: %s", e.Kind, e.ID, e.Reason)
}

// ErrorCode implements wire.Coder: wire.CodeConflict.
func (e *ConflictError) ErrorCode() wire.Code { return wire.CodeConflict }

// IsNotFound reports whether err is (or wraps) a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// StateError is returned when a record's current state does not allow the
// requested transition.
type StateError struct {
	Kind   string
	ID     string
	State  string
	Action string
}

// Error implements error.
func (e *StateError) Error() string {
	return fmt.Sprintf("%s %q is %s: cannot %s", e.Kind, e.ID, e.State, e.Action)
}

// ErrorCode implements wire.Coder: wire.CodeState.
func (e *StateError) ErrorCode() wire.Code { return wire.CodeState }

// printable replaces the composite-key separator so keys read in logs.
func printable(k string) string {
	b := []byte(k)
	for i, c := range b {
		if c == 0 {
			b[i] = '~'
		}
	}
	return string(b)
}

// Get reads key and decodes it into a new T. found is false when the key
// is absent; a read or decode failure is a *LedgerError.
func Get[T any](stub shim.ChaincodeStubInterface, key string) (v *T, found bool, err error) {
	data, err := stub.GetState(key)
	if err != nil {
		return nil, false, &LedgerError{Op: "get", Key: key, Err: err}
	}
	if data == nil {
		return nil, false, nil
	}
	v = new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, false, &LedgerError{Op: "decode", Key: key, Err: err}
	}
	return v, true, nil
}

// Put encodes v as canonical JSON and writes it under key.
func Put(stub shim.ChaincodeStubInterface, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return &LedgerError{Op: "encode", Key: key, Err: err}
	}
	if err := stub.PutState(key, data); err != nil {
		return &LedgerError{Op: "put", Key: key, Err: err}
	}
	return nil
}

// PutRaw writes raw bytes under key (non-empty: Fabric treats an empty
// value as a delete).
func PutRaw(stub shim.ChaincodeStubInterface, key string, data []byte) error {
	if err := stub.PutState(key, data); err != nil {
		return &LedgerError{Op: "put", Key: key, Err: err}
	}
	return nil
}

// Delete removes key.
func Delete(stub shim.ChaincodeStubInterface, key string) error {
	if err := stub.DelState(key); err != nil {
		return &LedgerError{Op: "delete", Key: key, Err: err}
	}
	return nil
}

// Emit sets the transaction's chaincode event. Fabric keeps only one event
// per transaction, so contracts call Emit at most once, at the end.
func Emit(stub shim.ChaincodeStubInterface, name string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return &LedgerError{Op: "encode event", Key: name, Err: err}
	}
	if err := stub.SetEvent(name, data); err != nil {
		return &LedgerError{Op: "set event", Key: name, Err: err}
	}
	return nil
}

// TxTime returns the transaction timestamp (the client's proposal time,
// identical on every endorser): the only clock the chaincode uses.
func TxTime(stub shim.ChaincodeStubInterface) (wire.Time, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return wire.Time{}, &LedgerError{Op: "read tx timestamp", Err: err}
	}
	if ts == nil {
		return wire.Time{}, &LedgerError{Op: "read tx timestamp", Err: Inconsistent("no timestamp")}
	}
	if err := ts.CheckValid(); err != nil {
		return wire.Time{}, &LedgerError{Op: "read tx timestamp", Err: err}
	}
	return wire.NewTime(ts.AsTime()), nil
}

// JSON encodes a result for return to the client.
func JSON(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode result: %w", err)
	}
	return string(data), nil
}
