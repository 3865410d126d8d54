//go:build linux

package store

import (
	"io"

	"golang.org/x/sys/unix"
)

// vectoredWrites says whether pwritev is available.
const vectoredWrites = true

// pwritev writes bufs, one after the other, to the file fd at offset at:
// one system call, unless the kernel writes less than asked. It writes to
// the raw descriptor, outside os.File's reference counting, which is safe
// because the appender goroutine alone writes and closes a segment file.
// Its errors are bare errnos; writeFrames' caller names the file.
func pwritev(fd uintptr, bufs [][]byte, at int64) error {
	for {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		n, err := unix.Pwritev(int(fd), bufs, at)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		at += int64(n)
		for n > 0 {
			k := min(n, len(bufs[0]))
			bufs[0] = bufs[0][k:]
			n -= k
			if len(bufs[0]) == 0 {
				bufs = bufs[1:]
			}
		}
	}
}
