// Package faultfs is a durable.FS for tests that fails chosen operations,
// modelled on pebble's vfs/errorfs: count operations of one kind and fail
// the Nth, or cut the Nth write short (a torn write, as a crash leaves
// it). Everything else passes through to the wrapped file system, so what
// a test reopens afterwards is what the failure left on disk.
package faultfs

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// ErrInjected is the error injected faults return (wrapped in *Fault).
var ErrInjected = errors.New("faultfs: injected fault")

// Op is a kind of file-system operation.
type Op int

// The operations a fault can target.
const (
	OpCreate Op = iota
	OpOpenAppend
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpClose
	OpRename
	OpRemove
	OpSyncDir
	OpMkdirAll
	OpStat
	numOps
)

var opNames = [...]string{"create", "open-append", "read", "write", "sync", "truncate", "close", "rename", "remove", "sync-dir", "mkdir", "stat"}

// String names the operation.
func (o Op) String() string {
	if o < 0 || o >= numOps {
		return fmt.Sprintf("op(%d)", int(o))
	}
	return opNames[o]
}

// Fault is an injected failure: the Nth operation of its kind (counted
// from 1 since the FS was made) on Path. It wraps ErrInjected.
type Fault struct {
	Op   Op
	N    int
	Path string
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("faultfs: injected %s failure #%d on %s", f.Op, f.N, f.Path)
}

// Unwrap returns ErrInjected.
func (f *Fault) Unwrap() error { return ErrInjected }

type rule struct {
	op    Op
	n     int
	keep  int // for a short write: bytes written before failing; -1 none
	fired bool
}

// FS wraps a durable.FS and injects faults. Its zero value is not usable:
// use New.
type FS struct {
	inner durable.FS

	mu     sync.Mutex
	counts [numOps]int
	rules  []*rule
}

// New returns an FS passing everything to inner (durable.OS when nil).
func New(inner durable.FS) *FS {
	if inner == nil {
		inner = durable.OS{}
	}
	return &FS{inner: inner}
}

// FailNth makes the nth operation of kind op (1 = the next one counted
// from the FS's creation, including those already done) fail with a
// *Fault, without performing it.
func (f *FS) FailNth(op Op, n int) *FS {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{op: op, n: n, keep: -1})
	return f
}

// FailNext makes the next operation of kind op fail.
func (f *FS) FailNext(op Op) *FS {
	f.mu.Lock()
	n := f.counts[op] + 1
	f.mu.Unlock()
	return f.FailNth(op, n)
}

// ShortNextWrite makes the next write store only its first keep bytes and
// then fail, as a crash in the middle of a write leaves the file.
func (f *FS) ShortNextWrite(keep int) *FS {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{op: OpWrite, n: f.counts[OpWrite] + 1, keep: keep})
	return f
}

// Count returns how many operations of kind op were attempted.
func (f *FS) Count(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[op]
}

// check counts one operation and returns the rule that fires on it.
func (f *FS) check(op Op) (*rule, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[op]++
	n := f.counts[op]
	for _, r := range f.rules {
		if !r.fired && r.op == op && r.n == n {
			r.fired = true
			return r, n
		}
	}
	return nil, n
}

func (f *FS) maybe(op Op, path string) error {
	if r, n := f.check(op); r != nil {
		return &Fault{Op: op, N: n, Path: path}
	}
	return nil
}

// Create implements durable.FS.
func (f *FS) Create(name string) (durable.File, error) {
	if err := f.maybe(OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.inner.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{fs: f, name: name, inner: file}, nil
}

// OpenAppend implements durable.FS.
func (f *FS) OpenAppend(name string) (durable.File, error) {
	if err := f.maybe(OpOpenAppend, name); err != nil {
		return nil, err
	}
	file, err := f.inner.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{fs: f, name: name, inner: file}, nil
}

// ReadFile implements durable.FS.
func (f *FS) ReadFile(name string) ([]byte, error) {
	if err := f.maybe(OpRead, name); err != nil {
		return nil, err
	}
	return f.inner.ReadFile(name)
}

// Rename implements durable.FS.
func (f *FS) Rename(oldName, newName string) error {
	if err := f.maybe(OpRename, newName); err != nil {
		return err
	}
	return f.inner.Rename(oldName, newName)
}

// Remove implements durable.FS.
func (f *FS) Remove(name string) error {
	if err := f.maybe(OpRemove, name); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

// Stat implements durable.FS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if err := f.maybe(OpStat, name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

// MkdirAll implements durable.FS.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := f.maybe(OpMkdirAll, dir); err != nil {
		return err
	}
	return f.inner.MkdirAll(dir, perm)
}

// SyncDir implements durable.FS.
func (f *FS) SyncDir(dir string) error {
	if err := f.maybe(OpSyncDir, dir); err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

type faultFile struct {
	fs    *FS
	name  string
	inner durable.File
}

func (w *faultFile) Write(p []byte) (int, error) {
	r, n := w.fs.check(OpWrite)
	if r == nil {
		return w.inner.Write(p)
	}
	written := 0
	if r.keep > 0 {
		written, _ = w.inner.Write(p[:min(r.keep, len(p))])
	}
	return written, &Fault{Op: OpWrite, N: n, Path: w.name}
}

func (w *faultFile) Sync() error {
	if err := w.fs.maybe(OpSync, w.name); err != nil {
		return err
	}
	return w.inner.Sync()
}

func (w *faultFile) Truncate(size int64) error {
	if err := w.fs.maybe(OpTruncate, w.name); err != nil {
		return err
	}
	return w.inner.Truncate(size)
}

func (w *faultFile) Close() error {
	if err := w.fs.maybe(OpClose, w.name); err != nil {
		_ = w.inner.Close() // the descriptor is released either way
		return err
	}
	return w.inner.Close()
}
