package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// The disk-space guard is the store's flood-stage watermark, as
// Elasticsearch has one: Append refuses new events (DiskSpaceError, an
// unavailable answer the client retries) while the store's file system has
// less than WithMinFreeBytes free, and accepts them again on its own once
// space is back. Refusing at a margin rather than meeting ENOSPC matters
// because Pebble treats a failed WAL write as fatal and needs room for the
// flushes and compactions that follow what it already accepted.

// DefaultMinFreeBytes is the free space below which Append refuses events:
// enough for Pebble to flush a few 64 MiB memtables and compact them.
const DefaultMinFreeBytes = 256 << 20

// diskCheckInterval bounds how stale the guard's view of free space may be.
const diskCheckInterval = 100 * time.Millisecond

// DiskSpaceError reports that the store's file system has less free space
// than the configured minimum: Append refuses events until there is more
// (gateway.CodeUnavailable: retry later). Open returns it (in an
// *OpenError) when the file system is already that full at start.
type DiskSpaceError struct {
	Dir  string
	Free uint64 // bytes available to the gateway's user
	Min  uint64 // WithMinFreeBytes
}

func (e *DiskSpaceError) Error() string {
	return fmt.Sprintf("store: file system of %s has %d bytes free, below the minimum %d (store.min_free_bytes): writes refused until space is freed", e.Dir, e.Free, e.Min)
}

// ErrorCode is gateway.CodeUnavailable: the condition passes without the
// client changing anything.
func (e *DiskSpaceError) ErrorCode() gateway.Code { return gateway.CodeUnavailable }

// statfsFree returns the bytes available to unprivileged users on the file
// system holding dir.
func statfsFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// diskGuard caches the last free-space reading for diskCheckInterval, so
// the append path pays one statfs per interval at most.
type diskGuard struct {
	dir  string
	min  uint64
	free func(dir string) (uint64, error)
	now  func() time.Time

	mu      sync.Mutex
	checked time.Time
	low     atomic.Pointer[DiskSpaceError] // nil: enough space at the last check
}

// check returns a *DiskSpaceError while free space is below the minimum.
// A failed statfs does not refuse writes: the guard is a margin, and a real
// write failure is still caught by the commit.
func (g *diskGuard) check() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.checked.IsZero() && now.Sub(g.checked) < diskCheckInterval {
		if low := g.low.Load(); low != nil {
			return low
		}
		return nil
	}
	g.checked = now
	free, err := g.free(g.dir)
	if err != nil || free >= g.min {
		g.low.Store(nil)
		return nil
	}
	low := &DiskSpaceError{Dir: g.dir, Free: free, Min: g.min}
	g.low.Store(low)
	return low
}

// recheck forgets the cached reading, so the next check reads again.
func (g *diskGuard) recheck() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	g.checked = time.Time{}
	g.mu.Unlock()
	return g.check()
}

// WriteProblem says why the store refuses writes for now, or "" when it
// accepts them: free space below the minimum (as of the last check), or a
// write that failed for lack of space and a reopen still to come. A store
// failed for good (*FatalError not caused by ENOSPC) is reported too.
// Readiness checks and metrics call it; it reads free space at most once
// per diskCheckInterval, so a store that receives no appends (a load
// balancer holding traffic back while it is not ready) still notices the
// space coming back.
func (s *Store) WriteProblem() string {
	if f := s.fatal.Load(); f != nil {
		return f.Error()
	}
	if err := s.guard.check(); err != nil {
		return err.Error()
	}
	return ""
}
