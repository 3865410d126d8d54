// Package durable owns the gateway's durable files: a replaced-whole file
// (AtomicReplace for bytes in hand, AtomicWrite for streamed content such
// as an exported bundle) and an append-only journal of framed,
// checksummed records (Journal). Every call goes through FS, so tests can
// make any write, fsync or rename fail (package durable/faultfs).
//
// The discipline is cockroachdb/pebble's: a record is durable only once
// fsync returned; a failed fsync is fatal to the journal (after it the
// kernel may have dropped the dirty pages, so a retry could report success
// for data that is not on disk); a torn tail left by a crash is cut off on
// open, while damage in the middle of a file is refused with a
// *CorruptError naming the file and offset instead of silently dropping
// what follows it.
package durable

import (
	"io"
	"io/fs"
	"os"
)

// FS is the file-system surface durable files use. Implementations must
// be safe for concurrent use.
type FS interface {
	// Create creates name, or truncates it, for writing.
	Create(name string) (File, error)
	// OpenAppend opens name for appending, creating it if needed.
	OpenAppend(name string) (File, error)
	// ReadFile returns the whole content of name.
	ReadFile(name string) ([]byte, error)
	// Rename replaces newName with oldName atomically.
	Rename(oldName, newName string) error
	// Remove removes name.
	Remove(name string) error
	// Stat describes name.
	Stat(name string) (fs.FileInfo, error)
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir fsyncs a directory, making a create or rename in it durable.
	SyncDir(dir string) error
}

// File is a file open for writing.
type File interface {
	io.Writer
	// Sync flushes the file's data to stable storage (fsync).
	Sync() error
	// Truncate changes the file's size; with OpenAppend, later writes go
	// to the new end.
	Truncate(size int64) error
	Close() error
}

// OS is the operating system's file system. Files are created with mode
// 0600: they may hold pseudonym mappings and response state.
type OS struct{}

// Create implements FS.
func (OS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// OpenAppend implements FS.
func (OS) OpenAppend(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}

// ReadFile implements FS.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Rename implements FS.
func (OS) Rename(oldName, newName string) error { return os.Rename(oldName, newName) }

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Stat implements FS.
func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// MkdirAll implements FS.
func (OS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// orOS returns fsys, or OS when it is nil.
func orOS(fsys FS) FS {
	if fsys == nil {
		return OS{}
	}
	return fsys
}
