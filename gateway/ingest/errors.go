package ingest

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an ingest failure. The HTTP layer turns it into a status
// with HTTPStatus and protocol adapters (HEC, _bulk, OTLP) into their own
// response vocabulary; nothing else should switch on it.
type Code int

// The ingest error codes. All but CodeTooLarge, CodeUnsupported and
// CodeInternal mean the request itself is malformed (HTTP 400); they are
// distinguished because Splunk HEC reports them with distinct codes.
const (
	// CodeMalformed: the body does not parse as the protocol says it must.
	CodeMalformed Code = iota + 1
	// CodeNoData: the body holds no event at all.
	CodeNoData
	// CodeMissingField: a field the protocol requires is absent.
	CodeMissingField
	// CodeBlankField: a required field is present but empty.
	CodeBlankField
	// CodeInvalidField: a field has a type or value the protocol forbids.
	CodeInvalidField
	// CodeTooLarge: a limit (body bytes, events, line length) was exceeded.
	CodeTooLarge
	// CodeUnsupported: content type or content encoding not supported.
	CodeUnsupported
	// CodeInternal: a failure of the gateway, not of the request.
	CodeInternal
)

var codeNames = map[Code]string{
	CodeMalformed:    "malformed",
	CodeNoData:       "no data",
	CodeMissingField: "missing field",
	CodeBlankField:   "blank field",
	CodeInvalidField: "invalid field",
	CodeTooLarge:     "too large",
	CodeUnsupported:  "unsupported",
	CodeInternal:     "internal",
}

// String returns the code's short name.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is the one error type the ingest parsers return. It says what went
// wrong (Code, Msg) and where (Line, Event) so a client can fix the
// one bad line of a large batch. Inspect it with errors.As.
type Error struct {
	Code Code
	// Protocol names the parser ("hec", "esbulk", "otlp", "ndjson", "syslog").
	Protocol string
	// Line is the 1-based line of the body where the problem is, 0 if the
	// protocol is not line-based or the problem is not tied to a line.
	Line int
	// Event is the 0-based index of the offending event within the request
	// (Splunk's invalid-event-number), -1 when not tied to one event.
	Event int
	// Msg says what is wrong, in words meant for the client.
	Msg string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the error as "protocol: code: line N (or event N): msg: cause".
func (e *Error) Error() string {
	s := e.Protocol
	if s == "" {
		s = "ingest"
	}
	s += ": " + e.Code.String()
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
	}
	if e.Event >= 0 && e.Line == 0 {
		s += fmt.Sprintf(": event %d", e.Event)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code, protocol and position
// (line 0 and event -1 when not applicable) and a formatted message.
func Errorf(code Code, protocol string, line, event int, format string, args ...any) *Error {
	return &Error{Code: code, Protocol: protocol, Line: line, Event: event, Msg: fmt.Sprintf(format, args...)}
}

// Wrap is Errorf with an underlying cause, kept inspectable with errors.Is.
func Wrap(code Code, protocol string, line, event int, msg string, err error) *Error {
	return &Error{Code: code, Protocol: protocol, Line: line, Event: event, Msg: msg, Err: err}
}

// CodeOf returns the Code of the first *Error in err's chain, CodeInternal
// for any other non-nil error and 0 for nil.
func CodeOf(err error) Code {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// HTTPStatus maps an error from an ingest parser to the HTTP status a
// generic endpoint answers with: 200 for nil, 400 for a malformed request,
// 413 for a limit exceeded, 415 for an unsupported media type or encoding
// and 500 for anything else. It is the only place this mapping lives;
// protocol adapters with their own status vocabulary (hec.Response) build on
// the same Code.
func HTTPStatus(err error) int {
	switch CodeOf(err) {
	case 0:
		return http.StatusOK
	case CodeMalformed, CodeNoData, CodeMissingField, CodeBlankField, CodeInvalidField:
		return http.StatusBadRequest
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupported:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}
