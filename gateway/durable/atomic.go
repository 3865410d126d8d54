package durable

import "path/filepath"

// AtomicReplace makes data the content of path so that a crash at any
// point leaves either the previous content or data, never a mix: it writes
// a temporary file in the same directory, fsyncs it, renames it over path
// and fsyncs the directory. On any failure path keeps its previous content
// (the temporary file may remain; the next call replaces it). A nil fsys
// means OS.
func AtomicReplace(fsys FS, path string, data []byte) error {
	fsys = orOS(fsys)
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return &Error{Op: "create", Path: tmp, Err: err}
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return &Error{Op: "write", Path: tmp, Err: err}
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return &Error{Op: "fsync", Path: tmp, Err: err}
	}
	if err := f.Close(); err != nil {
		return &Error{Op: "close", Path: tmp, Err: err}
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return &Error{Op: "rename", Path: path, Err: err}
	}
	if err := fsys.SyncDir(filepath.Dir(path)); err != nil {
		return &Error{Op: "fsync dir", Path: filepath.Dir(path), Err: err}
	}
	return nil
}
