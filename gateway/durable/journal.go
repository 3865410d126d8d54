package durable

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sync"
)

// Journal is an append-only file of framed, checksummed records. A record
// is durable once Append returned nil. Any failed write or fsync is fatal:
// the journal refuses every later call with that same error (Err), since
// what reached the disk is unknown; reopening it recovers the last durable
// state. It is safe for concurrent use.
//
// File layout: Magic, then frames (see AppendFrame).
type Journal struct {
	fs   FS
	path string

	mu     sync.Mutex
	f      File
	size   int64
	broken error
	closed bool
}

// OpenJournal opens the journal at path (creating it, durably, when it is
// absent or empty), calls replay with each record in order, cuts off a
// torn tail (see ReadFrames) and returns the journal ready to append.
// It returns a *FormatError, changing nothing, when the file is not a
// journal, a *CorruptError when damage lies before valid records, and a
// *RecordError wrapping replay's error when replay refuses a record. A nil
// fsys means OS.
func OpenJournal(fsys FS, path string, replay func(record []byte) error) (*Journal, error) {
	fsys = orOS(fsys)
	data, err := fsys.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Op: "read", Path: path, Err: err}
	}
	if len(data) < len(Magic) && bytes.HasPrefix([]byte(Magic), data) {
		// Absent, empty, or a creation a crash interrupted: start afresh.
		if err := WriteJournal(fsys, path, nil); err != nil {
			return nil, err
		}
		data = []byte(Magic)
	}
	if !bytes.HasPrefix(data, []byte(Magic)) {
		return nil, &FormatError{Path: path}
	}
	n, err := ReadFrames(path, int64(len(Magic)), data[len(Magic):], replay)
	if err != nil {
		return nil, err
	}
	end := int64(len(Magic) + n)
	f, err := fsys.OpenAppend(path)
	if err != nil {
		return nil, &Error{Op: "open", Path: path, Err: err}
	}
	if end < int64(len(data)) {
		if err := f.Truncate(end); err != nil {
			_ = f.Close()
			return nil, &Error{Op: "truncate torn tail", Path: path, Err: err}
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, &Error{Op: "fsync", Path: path, Err: err}
		}
	}
	return &Journal{fs: fsys, path: path, f: f, size: end}, nil
}

// Converter turns the content of a file in an older format into the
// records of the equivalent journal. It must not drop anything it can
// parse: the result is all that survives the conversion.
type Converter func(old []byte) ([][]byte, error)

// ConversionError reports a conversion whose journal did not read back
// the records the Converter produced; the journal was written, so the
// original content is gone unless the caller kept it (OpenOrConvert
// checks before returning, so this signals a bug, not a disk fault).
type ConversionError struct {
	Path            string
	Wrote, ReadBack int
}

// Error implements error.
func (e *ConversionError) Error() string {
	return fmt.Sprintf("durable: converted %s holds %d records, read back %d", e.Path, e.Wrote, e.ReadBack)
}

// OpenOrConvert is OpenJournal for a file that may still be in an older
// format: when OpenJournal reports a *FormatError, convert gets the
// file's content, the records it returns replace the file atomically as a
// journal (a crash leaves the old file, converted again at the next
// open), and the journal is opened from them, checking that every record
// reads back. replay sees only journal records, never the old format.
func OpenOrConvert(fsys FS, path string, replay func(record []byte) error, convert Converter) (*Journal, error) {
	fsys = orOS(fsys)
	j, err := OpenJournal(fsys, path, replay)
	var fe *FormatError
	if !errors.As(err, &fe) {
		return j, err
	}
	old, err := fsys.ReadFile(path)
	if err != nil {
		return nil, &Error{Op: "read", Path: path, Err: err}
	}
	records, err := convert(old)
	if err != nil {
		return nil, fmt.Errorf("durable: convert %s: %w", path, err)
	}
	if err := WriteJournal(fsys, path, records); err != nil {
		return nil, err
	}
	n := 0
	j, err = OpenJournal(fsys, path, func(r []byte) error {
		n++
		return replay(r)
	})
	if err != nil {
		return nil, err
	}
	if n != len(records) {
		_ = j.Close()
		return nil, &ConversionError{Path: path, Wrote: len(records), ReadBack: n}
	}
	return j, nil
}

// WriteJournal atomically replaces path with a journal holding records
// (see AtomicReplace): a crash leaves the previous file or the new one.
// It serves compaction and the one-time conversion of older formats.
func WriteJournal(fsys FS, path string, records [][]byte) error {
	buf, err := frames([]byte(Magic), records)
	if err != nil {
		return err
	}
	return AtomicReplace(fsys, path, buf)
}

// TooLargeError reports a record over MaxRecord; the journal stays usable.
type TooLargeError struct {
	Size int
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("durable: record of %d bytes exceeds %d", e.Size, MaxRecord)
}

func frames(buf []byte, records [][]byte) ([]byte, error) {
	for _, r := range records {
		if len(r) > MaxRecord {
			return nil, &TooLargeError{Size: len(r)}
		}
		buf = AppendFrame(buf, r)
	}
	return buf, nil
}

// Append writes records with one write and makes them durable with one
// fsync before returning (group commit: pass several records to share the
// fsync). A failed write or fsync breaks the journal.
func (j *Journal) Append(records ...[]byte) error {
	buf, err := frames(nil, records)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	if _, err := j.f.Write(buf); err != nil {
		return j.fail("write", err)
	}
	if err := j.f.Sync(); err != nil {
		return j.fail("fsync", err)
	}
	j.size += int64(len(buf))
	return nil
}

// Rewrite replaces the journal's content with records, atomically (a
// crash leaves the old records or the new ones), and goes on appending
// after them. Callers compact with it. A failure breaks the journal.
func (j *Journal) Rewrite(records [][]byte) error {
	buf, err := frames([]byte(Magic), records)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	if err := j.f.Close(); err != nil {
		j.f = nil
		return j.fail("close", err)
	}
	j.f = nil
	if err := AtomicReplace(j.fs, j.path, buf); err != nil {
		return j.fail("rewrite", err)
	}
	f, err := j.fs.OpenAppend(j.path)
	if err != nil {
		return j.fail("open", err)
	}
	j.f, j.size = f, int64(len(buf))
	return nil
}

// Size is the journal's length in bytes, header included.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Err returns the error that broke the journal, or nil.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.broken
}

// Close closes the file. Later calls return ErrClosed (or the error that
// broke the journal).
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return &Error{Op: "close", Path: j.path, Err: err}
	}
	return nil
}

func (j *Journal) usable() error {
	if j.broken != nil {
		return j.broken
	}
	if j.closed || j.f == nil {
		return ErrClosed
	}
	return nil
}

func (j *Journal) fail(op string, err error) error {
	var de *Error
	if errors.As(err, &de) {
		j.broken = de
	} else {
		j.broken = &Error{Op: op, Path: j.path, Err: err}
	}
	return j.broken
}
