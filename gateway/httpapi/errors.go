package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// HTTPStatus is the one place a gateway.Code becomes an HTTP status. The
// protocol adapters (HEC, Elasticsearch, OTLP) shape the same codes into
// their own bodies.
func HTTPStatus(c gateway.Code) int {
	switch c.Class() {
	case gateway.CodeInvalid:
		return http.StatusBadRequest
	case gateway.CodeUnauthenticated:
		return http.StatusUnauthorized
	case gateway.CodeForbidden:
		return http.StatusForbidden
	case gateway.CodeNotFound:
		return http.StatusNotFound
	case gateway.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case gateway.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case gateway.CodeBusy, gateway.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is a failure with its code and a message for the client saying
// what and where. Line and Event locate it in the request (0 and -1 when
// not applicable).
type Error struct {
	Code  gateway.Code
	Msg   string
	Line  int
	Event int
	Err   error
}

// Error implements error: the code, then the message (or the cause when
// there is no message).
func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return string(e.Code) + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the failure kind (gateway.Coder).
func (e *Error) ErrorCode() gateway.Code { return e.Code }

func errorf(c gateway.Code, msg string) *Error { return &Error{Code: c, Msg: msg, Event: -1} }

// asError turns any error into an *Error: *Error as is, *ingest.Error by
// its code's class with its position, a body cut by http.MaxBytesReader as
// too large, and anything else by gateway.ErrorCode (the store's typed
// errors know their codes; a cancelled context is unavailable). Internal
// causes are kept for the log, not told to the client.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Code: gateway.CodeTooLarge, Msg: "body exceeds the limit of " + strconv.FormatInt(mbe.Limit, 10) + " bytes", Event: -1, Err: mbe}
	}
	var ie *ingest.Error
	if errors.As(err, &ie) {
		c := ie.Code.Class()
		switch c {
		case gateway.CodeInvalid, gateway.CodeTooLarge, gateway.CodeUnsupported:
		default:
			c = gateway.CodeInternal
		}
		msg := ie.Error()
		if c == gateway.CodeInternal {
			msg = "internal error"
		}
		return &Error{Code: c, Msg: msg, Line: ie.Line, Event: ie.Event, Err: err}
	}
	var coder gateway.Coder
	if !errors.As(err, &coder) && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return &Error{Code: gateway.CodeUnavailable, Msg: "request cancelled", Event: -1, Err: err}
	}
	c := gateway.ErrorCode(err).Class()
	msg := err.Error()
	if c == gateway.CodeInternal || c == gateway.CodeStoreFailed {
		msg = "internal error"
	}
	return &Error{Code: c, Msg: msg, Event: -1, Err: err}
}

// toIngest converts an error to the *ingest.Error the protocol packages'
// answer builders understand, keeping its position. An error that came
// from a parser keeps its precise code (HEC tells "no data" from "event
// field required").
func toIngest(e *Error, proto string) *ingest.Error {
	var ie *ingest.Error
	if errors.As(e, &ie) {
		return ie
	}
	c := e.Code.Class()
	switch c {
	case gateway.CodeInvalid, gateway.CodeTooLarge, gateway.CodeUnsupported:
	default:
		c = gateway.CodeInternal // what a parser's answer builder can say
	}
	return &ingest.Error{Code: c, Protocol: proto, Line: e.Line, Event: e.Event, Msg: e.Msg}
}

// errorBody is the JSON error body of the gateway's own endpoints.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    gateway.Code `json:"code"`
	Message string       `json:"message"`
	Line    int          `json:"line,omitempty"`
	Event   *int         `json:"event,omitempty"`
}

func newErrorBody(e *Error) errorBody {
	d := errorDetail{Code: e.Code.Class(), Message: e.Msg, Line: e.Line}
	if e.Event >= 0 {
		n := e.Event
		d.Event = &n
	}
	return errorBody{Error: d}
}
