package gateway

import (
	"context"
	"errors"
)

// Code is the gateway's one vocabulary of failure kinds. Adapters' typed
// errors say their kind with an ErrorCode method (see Coder); the HTTP
// adapter maps a Code to a status in exactly one function, and the
// protocol answers (Splunk HEC codes, Elasticsearch item errors, OTLP
// partial success) are derived from the same Code. Its string is the
// "code" of the gateway's JSON error body and the "reason" label of the
// rejection metric, so the values never change.
type Code string

// The failure kinds.
const (
	CodeInvalid         Code = "invalid"         // malformed request
	CodeUnauthenticated Code = "unauthenticated" // no or unknown credential
	CodeForbidden       Code = "forbidden"       // credential lacks the scope or index
	CodeNotFound        Code = "not_found"       // no such event, batch
	CodeTooLarge        Code = "too_large"       // a limit exceeded
	CodeUnsupported     Code = "unsupported"     // content type or encoding
	CodeBusy            Code = "busy"            // backpressure, retry later
	CodeUnavailable     Code = "unavailable"     // store closed, shutting down, request cancelled
	CodeStoreFailed     Code = "store_failed"    // the store refuses writes after an fsync failure
	CodeInternal        Code = "internal"        // anything else

	// Kinds of CodeInvalid that Splunk HEC reports with distinct codes
	// (Class returns CodeInvalid for each).
	CodeNoData       Code = "no_data"       // the body holds no event at all
	CodeMissingField Code = "missing_field" // a required field is absent
	CodeBlankField   Code = "blank_field"   // a required field is empty
	CodeInvalidField Code = "invalid_field" // a field has a type or value the protocol forbids
)

// Class folds the refinements of CodeInvalid into CodeInvalid and returns
// every other code as is: what a client that does not speak HEC is told.
func (c Code) Class() Code {
	switch c {
	case CodeNoData, CodeMissingField, CodeBlankField, CodeInvalidField:
		return CodeInvalid
	}
	return c
}

// Coder is implemented by typed errors that know their failure kind.
type Coder interface {
	ErrorCode() Code
}

// Error is a failure with its kind, for adapters without a typed error of
// their own. Msg is meant for the client; Err is the cause, kept for logs
// and errors.Is/As.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

// Error implements error: the client message when there is one, else
// the code with the cause.
func (e *Error) Error() string {
	switch {
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return string(e.Code) + ": " + e.Err.Error()
	}
	return string(e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the kind.
func (e *Error) ErrorCode() Code { return e.Code }

// ErrorCode returns the kind of err: "" for nil; the code of the first
// error in the chain that implements Coder; CodeUnavailable for a
// cancelled or expired context; CodeInternal for anything else.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return CodeUnavailable
	}
	return CodeInternal
}
