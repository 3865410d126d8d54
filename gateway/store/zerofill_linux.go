//go:build linux

package store

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openDirect opens path for zero-filling with O_DIRECT, creating or
// truncating it. A variable so that tests can make it refuse, as tmpfs
// and some other file systems do.
var openDirect = func(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|unix.O_DIRECT, 0o644)
}

// writeDirect is one O_DIRECT write of zeroFillDirect. A variable so that
// tests can make the first write refuse (EINVAL), as a file system does
// that accepts O_DIRECT at open but not this alignment (a device whose
// logical block is larger than directAlign).
var writeDirect = func(f *os.File, b []byte, at int64) (int, error) { return f.WriteAt(b, at) }

// directAlign is the alignment O_DIRECT asks of buffers, offsets and
// lengths: a logical block, at most a page on the file systems we meet.
const directAlign = 4096

// zeroFillDirect creates (or truncates) the file at path, writes zeros
// to it up to size with O_DIRECT from one aligned buffer, and fsyncs it.
// The writes skip the page cache: buffered zero-filling copied every
// byte into page-cache pages and wrote them back, about 8 % of the
// gateway's CPU in the ingest bench's profile. The blocks are written
// (not unwritten extents, as fallocate leaves them) once the fsync has
// returned, which is what spares the appends' fdatasync a journal
// commit. It returns errDirectRefused, having written nothing the
// caller must keep, when the file system refuses O_DIRECT (the caller
// fills the file the buffered way); stop, checked between chunks,
// abandons the fill.
func zeroFillDirect(path string, size int64, stop func() bool) error {
	f, err := openDirect(path)
	if err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return errDirectRefused
		}
		return err
	}
	defer f.Close()
	// size need not be a multiple of directAlign: the last write is
	// rounded up and the file cut back to size.
	buf := make([]byte, zeroChunk+directAlign)
	off := (directAlign - int(uintptr(unsafe.Pointer(&buf[0])))%directAlign) % directAlign
	zero := buf[off : off+zeroChunk]
	for at := int64(0); at < size; at += zeroChunk {
		if stop() {
			return errors.New("store: zero-fill abandoned")
		}
		n := (min(zeroChunk, size-at) + directAlign - 1) &^ (directAlign - 1)
		if _, err := writeDirect(f, zero[:n], at); err != nil {
			if at == 0 && errors.Is(err, unix.EINVAL) {
				return errDirectRefused
			}
			return err
		}
	}
	if size%directAlign != 0 {
		if err := f.Truncate(size); err != nil {
			return err
		}
	}
	return f.Sync()
}
