package durable

import (
	"io"
	"path/filepath"
)

// AtomicReplace makes data the content of path so that a crash at any
// point leaves either the previous content or data, never a mix (see
// AtomicWrite). A nil fsys means OS.
func AtomicReplace(fsys FS, path string, data []byte) error {
	return AtomicWrite(fsys, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// AtomicWrite makes what write streams the content of path so that a crash
// at any point leaves either the previous content or the whole new one,
// never a mix or a prefix: it writes a temporary file in the same
// directory (path + ".tmp"), fsyncs it, renames it over path and fsyncs
// the directory. On any failure path keeps its previous content and the
// temporary file is removed as far as possible (one left behind is
// replaced by the next call). A failing file operation is a *Error naming
// it; an error of write itself is returned as write returned it. A nil
// fsys means OS.
func AtomicWrite(fsys FS, path string, write func(io.Writer) error) error {
	fsys = orOS(fsys)
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return &Error{Op: "create", Path: tmp, Err: err}
	}
	fail := func(err error) error {
		_ = f.Close()
		_ = fsys.Remove(tmp)
		return err
	}
	w := &writeErr{w: f}
	if err := write(w); err != nil {
		if w.err != nil {
			return fail(&Error{Op: "write", Path: tmp, Err: w.err})
		}
		return fail(err)
	}
	if w.err != nil { // write ignored a failed write
		return fail(&Error{Op: "write", Path: tmp, Err: w.err})
	}
	if err := f.Sync(); err != nil {
		return fail(&Error{Op: "fsync", Path: tmp, Err: err})
	}
	if err := f.Close(); err != nil {
		_ = fsys.Remove(tmp)
		return &Error{Op: "close", Path: tmp, Err: err}
	}
	if err := fsys.Rename(tmp, path); err != nil {
		_ = fsys.Remove(tmp)
		return &Error{Op: "rename", Path: path, Err: err}
	}
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		return &Error{Op: "fsync dir", Path: filepath.Dir(path), Err: err}
	}
	return nil
}

// writeErr remembers the first failed write to the file, so AtomicWrite
// tells a file failure (*Error) from the caller's own error.
type writeErr struct {
	w   io.Writer
	err error
}

// Write implements io.Writer.
func (e *writeErr) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
