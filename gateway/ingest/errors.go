package ingest

import (
	"fmt"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// codeNames are the words an ingest error message uses for its code
// ("ndjson: malformed: line 3: ..."), which clients already see.
var codeNames = map[gateway.Code]string{
	gateway.CodeInvalid:      "malformed",
	gateway.CodeNoData:       "no data",
	gateway.CodeMissingField: "missing field",
	gateway.CodeBlankField:   "blank field",
	gateway.CodeInvalidField: "invalid field",
	gateway.CodeTooLarge:     "too large",
	gateway.CodeUnsupported:  "unsupported",
	gateway.CodeInternal:     "internal",
}

func codeName(c gateway.Code) string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return string(c)
}

// Error is the one error type the ingest parsers return. It says what went
// wrong (Code, Msg) and where (Line, Event) so a client can fix the
// one bad line of a large batch. Inspect it with errors.As.
//
// Its Code is one of the gateway's failure kinds: CodeInvalid (the body
// does not parse as the protocol says it must) or its refinements
// CodeNoData, CodeMissingField, CodeBlankField, CodeInvalidField (which
// Splunk HEC reports with distinct codes), CodeTooLarge (a limit on body
// bytes, events or line length), CodeUnsupported (content type or
// encoding) or CodeInternal (a failure of the gateway, not the request).
type Error struct {
	Code gateway.Code
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
	s += ": " + codeName(e.Code)
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

// ErrorCode returns the failure kind (gateway.Coder).
func (e *Error) ErrorCode() gateway.Code { return e.Code }

// Errorf returns an *Error with the given code, protocol and position
// (line 0 and event -1 when not applicable) and a formatted message.
func Errorf(code gateway.Code, protocol string, line, event int, format string, args ...any) *Error {
	return &Error{Code: code, Protocol: protocol, Line: line, Event: event, Msg: fmt.Sprintf(format, args...)}
}

// Wrap is Errorf with an underlying cause, kept inspectable with errors.Is.
func Wrap(code gateway.Code, protocol string, line, event int, msg string, err error) *Error {
	return &Error{Code: code, Protocol: protocol, Line: line, Event: event, Msg: msg, Err: err}
}
