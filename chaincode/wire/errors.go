package wire

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies a chaincode refusal for machines. It crosses the
// chaincode boundary inside the error message (see [Error]), because a
// Fabric peer passes a chaincode's error on as status 500 and a message,
// nothing else. Codes are stable: the gateway decides retry or refuse on
// them, never on the wording of a message.
type Code string

// The codes a refusal carries. A client may retry only CodeUnavailable;
// every other code is final for the same input and ledger state, with one
// nuance the client knows best: CodeNotFound for a record it has just seen
// on its own peer means another endorser lags behind.
const (
	// CodeInvalid: the input breaks a rule of the wire format.
	CodeInvalid Code = "INVALID"
	// CodeNotFound: a record the caller named does not exist.
	CodeNotFound Code = "NOT_FOUND"
	// CodeConflict: the input contradicts what the ledger holds.
	CodeConflict Code = "CONFLICT"
	// CodeDenied: the caller lacks the right (MSP, role, gateway id).
	CodeDenied Code = "DENIED"
	// CodeState: the record's current state does not allow the transition.
	CodeState Code = "STATE"
	// CodeUnavailable: a world-state point read or write (get, put,
	// delete) failed inside the peer; the transaction may succeed if
	// retried.
	CodeUnavailable Code = "UNAVAILABLE"
	// CodeInternal: anything else (a bug or a record that does not decode).
	CodeInternal Code = "INTERNAL"
)

// codes lists every Code, for parsing.
var codes = []Code{CodeInvalid, CodeNotFound, CodeConflict, CodeDenied, CodeState, CodeUnavailable, CodeInternal}

// errorMarker opens the code in an encoded refusal: "ledgerguard/NOT_FOUND: ...".
const errorMarker = "ledgerguard/"

// Error is a chaincode refusal as it crosses the boundary. Its text is
// "ledgerguard/<CODE>: <message>", which [ParseError] reads back out of
// whatever the peer and client libraries wrap around it.
//
// Inside the chaincode an *Error made by [Encode] still unwraps to the typed
// error it encodes, so errors.As finds the *DeniedError or *NotFoundError
// in process; across the boundary only Code and Message travel.
type Error struct {
	Code    Code
	Message string
	cause   error
}

// Error implements error: the encoded form.
func (e *Error) Error() string { return errorMarker + string(e.Code) + ": " + e.Message }

// Unwrap returns the encoded error when this *Error was made by Encode.
func (e *Error) Unwrap() error { return e.cause }

// Coder is implemented by every typed chaincode error that knows its code.
type Coder interface {
	error
	ErrorCode() Code
}

// Encode returns err as an *Error whose message keeps err's whole text,
// with the code of the first Coder in err's chain (CodeInternal when none).
// An *Error passes through unchanged; nil stays nil.
func Encode(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code := CodeInternal
	var c Coder
	if errors.As(err, &c) {
		code = c.ErrorCode()
	}
	return &Error{Code: code, Message: err.Error(), cause: err}
}

// ParseError finds an encoded refusal in text (a peer's message, possibly
// prefixed, e.g. "chaincode response 500, ledgerguard/DENIED: ...") and
// returns it; ok is false when text carries no known code.
func ParseError(text string) (e *Error, ok bool) {
	for rest := text; ; {
		i := strings.Index(rest, errorMarker)
		if i < 0 {
			return nil, false
		}
		rest = rest[i+len(errorMarker):]
		for _, c := range codes {
			if after, found := strings.CutPrefix(rest, string(c)+": "); found {
				return &Error{Code: c, Message: after}, true
			}
		}
	}
}

// ValidationError reports input that breaks a rule of the wire format. Field
// names the offending JSON path (e.g. "alerts[3].eventHash") so the caller
// can fix exactly that; the chaincode returns it unchanged to the client.
type ValidationError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// ErrorCode implements Coder: CodeInvalid.
func (e *ValidationError) ErrorCode() Code { return CodeInvalid }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
