package stix

import (
	"errors"
	"fmt"
)

// Kinds of import failure; every error Parse and ParseObjects return is an
// *ObjectError whose Kind is one of these, so callers map them (CLI exit
// 1, TAXII 400/413/422) with errors.Is.
var (
	// ErrMalformed: the input is not valid STIX (bad JSON, a missing or
	// malformed required property, a pattern that does not parse, a value
	// that is not valid for its type).
	ErrMalformed = errors.New("malformed STIX")
	// ErrUnsupported: valid STIX that ledgerguard cannot share (a pattern
	// with AND, FOLLOWEDBY, qualifiers, or on properties it does not
	// match; a pattern language other than STIX).
	ErrUnsupported = errors.New("not shareable as a ledgerguard indicator")
	// ErrRefused: an indicator marked TLP:RED, which is never shared.
	ErrRefused = errors.New("refused")
	// ErrTooLarge: the bundle, an object or the number of indicators is
	// over a limit.
	ErrTooLarge = errors.New("over a limit")
)

// ObjectError names the object an import failed on: its STIX id and its
// position among the bundle's objects (ID "" and Index -1 for the bundle
// itself). Kind is one of the Err* kinds; errors.Is sees both Kind and the
// cause.
type ObjectError struct {
	ID    string
	Index int
	Kind  error
	Err   error
}

func (e *ObjectError) Error() string {
	switch {
	case e.Index < 0:
		return fmt.Sprintf("bundle: %v", e.Err)
	case e.ID == "":
		return fmt.Sprintf("object %d: %v", e.Index, e.Err)
	default:
		return fmt.Sprintf("%s (object %d): %v", e.ID, e.Index, e.Err)
	}
}

// Unwrap returns the kind and the cause.
func (e *ObjectError) Unwrap() []error { return []error{e.Kind, e.Err} }

func bundleErr(kind error, format string, args ...any) *ObjectError {
	return &ObjectError{Index: -1, Kind: kind, Err: fmt.Errorf(format, args...)}
}

func objectErr(id string, index int, kind error, err error) *ObjectError {
	return &ObjectError{ID: id, Index: index, Kind: kind, Err: err}
}
