package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Code is the gateway API's one vocabulary of failures. HTTPStatus maps it
// to a status; the protocol adapters (HEC, Elasticsearch, OTLP) shape it
// into their own bodies, and it is the "reason" label of the rejection
// metric.
type Code string

// The error codes.
const (
	CodeInvalid         Code = "invalid"         // malformed request: 400
	CodeUnauthenticated Code = "unauthenticated" // no or unknown credential: 401
	CodeForbidden       Code = "forbidden"       // credential lacks the scope or index: 403
	CodeNotFound        Code = "not_found"       // no such event, batch: 404
	CodeTooLarge        Code = "too_large"       // a limit exceeded: 413
	CodeUnsupported     Code = "unsupported"     // content type or encoding: 415
	CodeBusy            Code = "busy"            // backpressure, retry later: 503
	CodeUnavailable     Code = "unavailable"     // store closed or shutting down: 503
	CodeStoreFailed     Code = "store_failed"    // the store refuses writes after an fsync failure: 500
	CodeInternal        Code = "internal"        // anything else: 500
)

// HTTPStatus is the one place a Code becomes an HTTP status.
func HTTPStatus(c Code) int {
	switch c {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case CodeBusy, CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is a failure with its code and a message for the client saying
// what and where. Line and Event locate it in the request (0 and -1 when
// not applicable).
type Error struct {
	Code  Code
	Msg   string
	Line  int
	Event int
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return string(e.Code) + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(c Code, msg string) *Error { return &Error{Code: c, Msg: msg, Event: -1} }

// Classifier maps an error of an adapter (the store) to a Code; it returns
// "" for errors it does not know. gateway/cmd supplies one that knows the
// store's error types, so this package never imports the store.
type Classifier func(error) Code

// asError turns any error into an *Error: *Error as is, *ingest.Error by its
// code with its position, a body cut by http.MaxBytesReader as too large,
// adapter errors through classify, context errors as unavailable, the rest
// internal (with the cause kept for the log, not the client).
func asError(err error, classify Classifier) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Code: CodeTooLarge, Msg: "body exceeds the limit of " + strconv.FormatInt(mbe.Limit, 10) + " bytes", Event: -1, Err: mbe}
	}
	var ie *ingest.Error
	if errors.As(err, &ie) {
		c := CodeInternal
		switch ie.Code {
		case ingest.CodeMalformed, ingest.CodeNoData, ingest.CodeMissingField, ingest.CodeBlankField, ingest.CodeInvalidField:
			c = CodeInvalid
		case ingest.CodeTooLarge:
			c = CodeTooLarge
		case ingest.CodeUnsupported:
			c = CodeUnsupported
		}
		msg := ie.Error()
		if c == CodeInternal {
			msg = "internal error"
		}
		return &Error{Code: c, Msg: msg, Line: ie.Line, Event: ie.Event, Err: err}
	}
	if classify != nil {
		if c := classify(err); c != "" {
			msg := err.Error()
			if c == CodeInternal || c == CodeStoreFailed {
				msg = "internal error"
			}
			return &Error{Code: c, Msg: msg, Event: -1, Err: err}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeUnavailable, Msg: "request cancelled", Event: -1, Err: err}
	}
	return &Error{Code: CodeInternal, Msg: "internal error", Event: -1, Err: err}
}

// toIngest converts an error to the *ingest.Error the protocol packages'
// answer builders understand, keeping its position.
func toIngest(e *Error, proto string) *ingest.Error {
	c := ingest.CodeInternal
	switch e.Code {
	case CodeInvalid:
		c = ingest.CodeMalformed
	case CodeTooLarge:
		c = ingest.CodeTooLarge
	case CodeUnsupported:
		c = ingest.CodeUnsupported
	}
	// An error that came from a parser keeps its precise code (HEC tells
	// "no data" from "event field required").
	var ie *ingest.Error
	if errors.As(e, &ie) {
		return ie
	}
	return &ingest.Error{Code: c, Protocol: proto, Line: e.Line, Event: e.Event, Msg: e.Msg}
}

// errorBody is the JSON error body of the gateway's own endpoints.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Event   *int   `json:"event,omitempty"`
}

func newErrorBody(e *Error) errorBody {
	d := errorDetail{Code: e.Code, Message: e.Msg, Line: e.Line}
	if e.Event >= 0 {
		n := e.Event
		d.Event = &n
	}
	return errorBody{Error: d}
}
