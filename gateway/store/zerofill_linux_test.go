//go:build linux

package store

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fiemap constants (linux/fiemap.h, linux/fs.h).
const (
	fsIOCFiemap           = 0xc020660b
	fiemapFlagSync        = 0x1
	fiemapExtentUnwritten = 0x800
	fiemapHeaderSize      = 32
	fiemapExtentSize      = 56
)

// unwrittenBytes asks the file system (FIEMAP) how many bytes of path
// lie in unwritten extents: allocated but not yet written, which the
// first write to must convert in the journal, so its fdatasync waits for
// a journal commit. ok is false where FIEMAP is not supported.
func unwrittenBytes(t *testing.T, path string) (unwritten, mapped int64, ok bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const max = 512
	buf := make([]uint64, (fiemapHeaderSize+max*fiemapExtentSize)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	binary.NativeEndian.PutUint64(b[8:], ^uint64(0)) // fm_length: the whole file
	binary.NativeEndian.PutUint32(b[16:], fiemapFlagSync)
	binary.NativeEndian.PutUint32(b[24:], max) // fm_extent_count
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIOCFiemap, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
		if errors.Is(errno, unix.EOPNOTSUPP) || errors.Is(errno, unix.ENOTTY) {
			return 0, 0, false
		}
		t.Fatalf("FIEMAP %s: %v", path, errno)
	}
	n := binary.NativeEndian.Uint32(b[20:]) // fm_mapped_extents
	for i := range int(n) {
		e := b[fiemapHeaderSize+i*fiemapExtentSize:]
		length := int64(binary.NativeEndian.Uint64(e[16:]))
		mapped += length
		if binary.NativeEndian.Uint32(e[40:])&fiemapExtentUnwritten != 0 {
			unwritten += length
		}
	}
	return unwritten, mapped, true
}

// TestZeroFillDirectWritesBlocks: the O_DIRECT zero-fill leaves the
// spare's blocks written (no unwritten extent), as the buffered one did,
// so the fdatasync of an append that overwrites them needs no journal
// commit: the property preallocation exists for. A fallocated file
// (unwritten extents) shows that the check can fail.
func TestZeroFillDirectWritesBlocks(t *testing.T) {
	const size = 8 << 20
	dir := t.TempDir()
	direct := filepath.Join(dir, "direct")
	if err := zeroFillDirect(direct, size, func() bool { return false }); errors.Is(err, errDirectRefused) {
		t.Skip("this file system refuses O_DIRECT")
	} else if err != nil {
		t.Fatal(err)
	}
	unwritten, mapped, ok := unwrittenBytes(t, direct)
	if !ok {
		t.Skip("this file system does not answer FIEMAP")
	}
	if unwritten != 0 || mapped != size {
		t.Errorf("O_DIRECT zero-fill: %d of %d mapped bytes unwritten, want 0 of %d", unwritten, mapped, size)
	}

	falloc := filepath.Join(dir, "fallocate")
	f, err := os.Create(falloc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		t.Skipf("fallocate: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if unwritten, _, _ := unwrittenBytes(t, falloc); unwritten == 0 {
		t.Log("fallocate left no unwritten extent here: this file system cannot tell the difference")
	}
}
