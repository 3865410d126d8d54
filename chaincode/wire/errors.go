package wire

import "fmt"

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

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
