package store

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// The store's errors say their failure kind through an ErrorCode method
// (gateway.Coder), so the HTTP adapter answers them without knowing the
// store: not found for a missing event or batch, invalid for a tree size
// out of range or an event value without a canonical encoding, unavailable
// after Close, store failed after a fatal write error; the others are
// internal.

// ErrClosed is returned by every call made after Close (CodeUnavailable).
var ErrClosed error = &gateway.Error{Code: gateway.CodeUnavailable, Msg: "store: closed"}

// ErrReadOnly is returned by Append on a store opened WithReadOnly
// (CodeUnavailable: the store takes no writes in this process).
var ErrReadOnly error = &gateway.Error{Code: gateway.CodeUnavailable, Msg: "store: opened read-only"}

// FatalError reports that a write to stable storage failed (a WAL write or
// fsync). The store treats it as fatal, as Pebble and PostgreSQL do: after a
// failed fsync the kernel may have dropped the dirty pages, so retrying could
// report success for data that is not on disk. None of the events with
// sequence numbers [FirstSeq, LastSeq] was acknowledged (LastSeq < FirstSeq
// when the failed write carried no new events, e.g. a seal or MarkAnchored);
// every later write returns this same error. Reopen the store to recover what
// was durable. When the cause is a full file system (ENOSPC) the store does
// that itself once space is back, and the error is an unavailable answer
// (retry later) rather than a failed store.
type FatalError struct {
	Op       string // "append", "seal" or "mark-anchored"
	FirstSeq uint64
	LastSeq  uint64
	Err      error
}

// Error implements error.
func (e *FatalError) Error() string {
	refuses := "store refuses further writes"
	if e.reopens() {
		refuses = "store refuses writes until it has reopened with free space"
	}
	if e.LastSeq < e.FirstSeq {
		return fmt.Sprintf("store: fatal %s error, %s: %v", e.Op, refuses, e.Err)
	}
	return fmt.Sprintf("store: fatal %s error, seqs %d..%d not acknowledged, %s: %v", e.Op, e.FirstSeq, e.LastSeq, refuses, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *FatalError) Unwrap() error { return e.Err }

// reopens says whether the store reopens by itself after this failure: a
// full file system, which passes once space is freed.
func (e *FatalError) reopens() bool { return errors.Is(e.Err, syscall.ENOSPC) }

// ErrorCode is gateway.CodeStoreFailed, or gateway.CodeUnavailable when the
// cause is ENOSPC and the store reopens by itself.
func (e *FatalError) ErrorCode() gateway.Code {
	if e.reopens() {
		return gateway.CodeUnavailable
	}
	return gateway.CodeStoreFailed
}

// InvalidEventError reports an event of an Append request that cannot be
// stored; Index is its position in the request, ID its id as given. Nothing
// of the request was stored.
type InvalidEventError struct {
	Index int
	ID    string
	Err   error
}

// Error implements error.
func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("store: event %d (id %q) invalid: %v", e.Index, e.ID, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *InvalidEventError) Unwrap() error { return e.Err }

// ErrorCode is gateway.CodeInvalid when the cause is a value without a
// canonical encoding (*gateway.InvalidValueError: a client's value, never
// a 500; ingest refuses such records before they reach the store, so this
// is defence in depth), else gateway.CodeInternal (a malformed id is the
// gateway's own bug).
func (e *InvalidEventError) ErrorCode() gateway.Code {
	var ve *gateway.InvalidValueError
	if errors.As(e.Err, &ve) {
		return gateway.CodeInvalid
	}
	return gateway.CodeInternal
}

// ErrBadID is the cause in an InvalidEventError (or the error of a lookup)
// whose id is not 64 lowercase hex characters.
var ErrBadID = errors.New("id is not 64 lowercase hex characters")

// EventNotFoundError reports a lookup of an event that is not durably stored:
// by id (ID set) or by sequence number (ID empty).
type EventNotFoundError struct {
	ID  string
	Seq uint64
}

// Error implements error.
func (e *EventNotFoundError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("store: event %s not found", e.ID)
	}
	return fmt.Sprintf("store: event seq %d not found", e.Seq)
}

// ErrorCode is gateway.CodeNotFound.
func (e *EventNotFoundError) ErrorCode() gateway.Code { return gateway.CodeNotFound }

// BatchNotFoundError reports a lookup of a batch that is not durably sealed.
type BatchNotFoundError struct {
	BatchID string
}

// Error implements error.
func (e *BatchNotFoundError) Error() string {
	return fmt.Sprintf("store: batch %s not found", e.BatchID)
}

// ErrorCode is gateway.CodeNotFound.
func (e *BatchNotFoundError) ErrorCode() gateway.Code { return gateway.CodeNotFound }

// TreeSizeError reports a tree size (or leaf index) outside what the log
// durably holds: Requested is what was asked, Size the durable tree size
// (for a leaf index, the tree size it must be below).
type TreeSizeError struct {
	What      string // "tree size", "leaf index", "size1"
	Requested uint64
	Size      uint64
}

// Error implements error.
func (e *TreeSizeError) Error() string {
	return fmt.Sprintf("store: %s %d out of range (tree size %d)", e.What, e.Requested, e.Size)
}

// ErrorCode is gateway.CodeInvalid.
func (e *TreeSizeError) ErrorCode() gateway.Code { return gateway.CodeInvalid }

// CorruptRecordError reports a stored record that fails its checksum or does
// not decode, or stored state that contradicts itself (e.g. a rebuilt Merkle
// root that differs from the recorded one). Key is the hex of the store key.
type CorruptRecordError struct {
	Key string
	Err error
}

// Error implements error.
func (e *CorruptRecordError) Error() string {
	return fmt.Sprintf("store: corrupt record %s: %v", e.Key, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// AnchorConflictError reports MarkAnchored on a batch already anchored by a
// different transaction: the batch stays as first recorded.
type AnchorConflictError struct {
	BatchID      string
	TxID         string // the transaction given now
	AnchoredTxID string // the transaction recorded
}

// Error implements error.
func (e *AnchorConflictError) Error() string {
	return fmt.Sprintf("store: batch %s already anchored by tx %s, not %s", e.BatchID, e.AnchoredTxID, e.TxID)
}

// ConfigError reports an invalid option given to Open, or a missing required one.
type ConfigError struct {
	Option string
	Err    error
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("store: option %s: %v", e.Option, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() error { return e.Err }

// ArgumentError reports an argument a method cannot act on.
type ArgumentError struct {
	Arg string
	Err error
}

// Error implements error.
func (e *ArgumentError) Error() string { return fmt.Sprintf("store: argument %s: %v", e.Arg, e.Err) }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ArgumentError) Unwrap() error { return e.Err }
