package durable

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a journal used after Close.
var ErrClosed = errors.New("durable: journal closed")

// Error is a failed file operation: Op is what failed ("write", "fsync",
// "rename", "fsync dir", ...), Path the file it failed on.
type Error struct {
	Op   string
	Path string
	Err  error
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("durable: %s %s: %v", e.Op, e.Path, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CorruptError reports a durable file whose content cannot be trusted: a
// state file that does not parse, or a journal frame that fails its
// checksum or is malformed while valid frames follow it (damage to
// acknowledged data, not a torn write). Offset is where the damage
// starts. It is never returned for a torn tail, which OpenJournal cuts off.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("durable: %s is corrupt at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// FormatError reports a file that is not a journal of this format (another
// format, or an older file a caller may convert). Nothing was changed.
type FormatError struct {
	Path string
}

// Error implements error.
func (e *FormatError) Error() string {
	return fmt.Sprintf("durable: %s is not a journal (no %q header)", e.Path, Magic)
}

// RecordError reports a whole, checksummed record that the caller's
// replay function refused (Err): the file is intact but its content is
// not what the caller expects, so OpenJournal stops rather than guess.
type RecordError struct {
	Path   string
	Offset int64
	Err    error
}

// Error implements error.
func (e *RecordError) Error() string {
	return fmt.Sprintf("durable: %s: record at offset %d refused: %v", e.Path, e.Offset, e.Err)
}

// Unwrap returns the replay function's error.
func (e *RecordError) Unwrap() error { return e.Err }
