//go:build linux

package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/vfs"
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

// TestSpareZeroFill: the spare segment file is the segment size of zeros,
// fsynced, whichever way it is filled: with O_DIRECT on the OS's file
// system (over a longer file left by a crash, and at a size that is not a
// multiple of the O_DIRECT block); the buffered way where opening with
// O_DIRECT is refused (tmpfs, some others) or the file system is not the
// OS's (never trying O_DIRECT there).
func TestSpareZeroFill(t *testing.T) {
	const size = 3<<20 + 1000
	for _, tc := range []struct {
		name        string
		mem         bool
		refuse      bool
		refuseWrite bool // O_DIRECT accepted at open, EINVAL at the first write
	}{
		{name: "direct"},
		{name: "direct refused", refuse: true},
		{name: "direct refused at the first write", refuseWrite: true},
		{name: "in memory", mem: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fs vfs.FS = vfs.Default
			dir := t.TempDir()
			if tc.mem {
				fs, dir = vfs.NewMem(), "segs"
				if err := fs.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.mem && !tc.refuse {
				if err := zeroFillDirect(filepath.Join(t.TempDir(), "probe"), 4096, func() bool { return false }); errors.Is(err, errDirectRefused) {
					t.Skip("this file system refuses O_DIRECT")
				}
			}
			realWrite := writeDirect
			defer func() { writeDirect = realWrite }()
			writes := 0
			writeDirect = func(f *os.File, b []byte, at int64) (int, error) {
				writes++
				if tc.refuseWrite {
					return 0, &os.PathError{Op: "write", Path: f.Name(), Err: unix.EINVAL}
				}
				return realWrite(f, b, at)
			}
			opened := 0
			real := openDirect
			defer func() { openDirect = real }()
			openDirect = func(path string) (*os.File, error) {
				opened++
				if tc.refuse {
					return nil, &os.PathError{Op: "open", Path: path, Err: unix.EINVAL}
				}
				return real(path)
			}
			path := fs.PathJoin(dir, spareName)
			if !tc.mem {
				// What a crash left: a longer, non-zero file.
				if err := os.WriteFile(path, bytes.Repeat([]byte{0xa5}, size+5000), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l := &segLog{fs: fs, dir: dir, max: size}
			if err := l.fillSpare(path); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 1, true: 0}[tc.mem]; opened != want {
				t.Errorf("O_DIRECT opened %d times, want %d", opened, want)
			}
			if tc.refuseWrite && writes != 1 {
				t.Errorf("O_DIRECT writes %d, want 1 (refused, then the buffered fill)", writes)
			}
			data, err := readAll(fs, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != size || !allZero(data) {
				t.Errorf("spare is %d bytes (zero: %v), want %d zeros", len(data), allZero(data), size)
			}
		})
	}
}
