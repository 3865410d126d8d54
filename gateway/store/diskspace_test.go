package store

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// withFreeSpace replaces statfs with f (tests only).
func withFreeSpace(f func(string) (uint64, error)) Option {
	return func(c *config) error { c.freeSpace = f; return nil }
}

// TestDiskSpaceGuard: below the minimum Append refuses with an unavailable
// *DiskSpaceError and stores nothing; once space is back it accepts again
// without a reopen, and reads are served throughout.
func TestDiskSpaceGuard(t *testing.T) {
	ctx := context.Background()
	var free atomic.Uint64
	free.Store(1 << 30)
	s := openTest(t, nil, WithMinFreeBytes(64<<20), withFreeSpace(func(string) (uint64, error) { return free.Load(), nil }))
	defer s.Close()
	acked := mustAppend(t, s.Store, testEvents(0, 10, 100))

	free.Store(1 << 20)
	time.Sleep(2 * diskCheckInterval)
	_, err := s.Append(ctx, testEvents(10, 5, 100))
	var de *DiskSpaceError
	if !errors.As(err, &de) {
		t.Fatalf("Append on a full disk = %v, want *DiskSpaceError", err)
	}
	if got, want := gateway.ErrorCode(err), gateway.CodeUnavailable; got != want {
		t.Errorf("ErrorCode = %q, want %q", got, want)
	}
	if !strings.Contains(s.WriteProblem(), "bytes free") {
		t.Errorf("WriteProblem while refusing = %q, want the free space", s.WriteProblem())
	}
	if got, want := de.Free, uint64(1<<20); got != want {
		t.Errorf("Free = %d, want %d", got, want)
	}
	if got, want := s.Size(), uint64(len(acked)); got != want {
		t.Errorf("size while refusing = %d, want %d", got, want)
	}
	checkAcked(t, s.Store, acked)

	free.Store(1 << 30)
	time.Sleep(2 * diskCheckInterval)
	if p := s.WriteProblem(); p != "" {
		t.Errorf("WriteProblem once space is back = %q, want none", p)
	}
	got := mustAppend(t, s.Store, testEvents(10, 5, 100))
	if got[0].Seq != uint64(len(acked)) {
		t.Errorf("first seq after space came back = %d, want %d", got[0].Seq, len(acked))
	}
}

// TestOpenRefusesFullDisk: Open on a file system below the minimum fails
// at once, naming the directory and the free space, instead of hanging in
// Pebble's background-error loop.
func TestOpenRefusesFullDisk(t *testing.T) {
	_, err := Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(vfs.NewMem()),
		WithMinFreeBytes(64<<20), withFreeSpace(func(string) (uint64, error) { return 4096, nil }))
	var oe *OpenError
	var de *DiskSpaceError
	if !errors.As(err, &oe) || !errors.As(err, &de) {
		t.Fatalf("Open = %v, want *OpenError with *DiskSpaceError", err)
	}
	for _, want := range []string{"db", "4096 bytes free"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestGuardOnOSFileSystem: the default guard reads the real file system
// (statfs) and lets appends through on one with room.
func TestGuardOnOSFileSystem(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, WithGateway(testMSP, testGW), WithMinFreeBytes(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.guard == nil {
		t.Fatal("no guard on the OS file system")
	}
	mustAppend(t, s, testEvents(0, 3, 100))
	if _, err := Open(context.Background(), t.TempDir(), WithGateway(testMSP, testGW), WithMinFreeBytes(1<<62)); !errors.As(err, new(*DiskSpaceError)) {
		t.Errorf("Open needing 4 EiB free = %v, want *DiskSpaceError", err)
	}
}

// TestENOSPCOnWALReopens: a WAL or segment write that meets ENOSPC (the
// guard raced)
// fails with an unavailable *FatalError, nothing of it is acknowledged,
// and once the file system takes writes again the store reopens by itself
// and accepts appends at the right seq, with everything acknowledged
// before still there.
func TestENOSPCOnWALReopens(t *testing.T) {
	for _, suffix := range []string{".log", ".seg"} {
		t.Run(suffix, func(t *testing.T) { testENOSPCReopens(t, suffix) })
	}
}

func testENOSPCReopens(t *testing.T, suffix string) {
	ctx := context.Background()
	var full atomic.Bool
	var fired atomic.Int64
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !full.Load() || !strings.HasSuffix(op.Path, suffix) {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			fired.Add(1)
			return syscall.ENOSPC
		}
		return nil
	})
	s := openTest(t, errorfs.Wrap(vfs.NewMem(), inj), WithBatchMaxEvents(8))
	defer s.Close()
	acked := mustAppend(t, s.Store, testEvents(0, 20, 300))

	full.Store(true)
	_, err := s.Append(ctx, testEvents(20, 5, 300))
	var fe *FatalError
	if !errors.As(err, &fe) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append meeting ENOSPC = %v, want *FatalError caused by ENOSPC", err)
	}
	if fired.Load() == 0 {
		t.Fatal("the injector never fired")
	}
	if got, want := gateway.ErrorCode(err), gateway.CodeUnavailable; got != want {
		t.Errorf("ErrorCode = %q, want %q", got, want)
	}
	if got, want := s.Size(), uint64(len(acked)); got != want {
		t.Errorf("size after the failed write = %d, want %d", got, want)
	}
	if !strings.Contains(s.WriteProblem(), "until it has reopened") {
		t.Errorf("WriteProblem after ENOSPC = %q, want the pending reopen", s.WriteProblem())
	}

	full.Store(false)
	var got []gateway.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err = s.Append(ctx, testEvents(100, 3, 300))
		if err == nil {
			break
		}
		if gateway.ErrorCode(err) != gateway.CodeUnavailable {
			t.Fatalf("Append while reopening = %v, want unavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not reopen within 10 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkAcked(t, s.Store, acked)
	if p := s.WriteProblem(); p != "" {
		t.Errorf("WriteProblem after the reopen = %q, want none", p)
	}
	if got[0].Seq < uint64(len(acked)) {
		t.Errorf("seq after reopen = %d, want at least %d", got[0].Seq, len(acked))
	}
	verifyLog(t, s.Store, refLeafHashes(t, s.Store), []uint64{s.Size()})
	if _, _, err := s.Seal(ctx); err != nil {
		t.Errorf("Seal after reopen: %v", err)
	}
}
