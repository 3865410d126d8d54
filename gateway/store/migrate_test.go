package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// v1Fixture is a store written by the Pebble-only code (format 1, commit
// e54f333): 431 events, batches of 100 cut by count and one by Seal, the
// first two anchored, 31 events in the open batch, part of it flushed to
// an sstable and part only in the WAL. expected.json was written by the
// same code from its reads.
const v1Fixture = "testdata/v1-store"

type v1Expected struct {
	Size   uint64 `json:"size"`
	Root   string `json:"root"`
	Events []struct {
		Seq      uint64 `json:"seq"`
		ID       string `json:"id"`
		LeafHash string `json:"leafHash"`
	} `json:"events"`
	Batches []gateway.Batch `json:"batches"`
}

// copyV1Fixture copies the fixture store into a fresh directory (opening
// it changes it) and returns the directory and what it must hold.
func copyV1Fixture(t *testing.T) (string, v1Expected) {
	t.Helper()
	var exp v1Expected
	b, err := os.ReadFile(filepath.Join(v1Fixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(v1Fixture, "store"))); err != nil {
		t.Fatal(err)
	}
	return dir, exp
}

// checkV1Migrated checks a migrated fixture store against what the format-1
// code read from it: every event at its seq with its leaf hash, the root,
// the batches with their anchoring, and that a replayed event is answered
// with its stored copy while a new one goes on at the next seq.
func checkV1Migrated(t *testing.T, s *Store, exp v1Expected) {
	t.Helper()
	ctx := context.Background()
	root, err := s.Root(ctx, exp.Size)
	if err != nil || hexs(root) != exp.Root {
		t.Fatalf("Root(%d) = %x, %v; want %s", exp.Size, root, err, exp.Root)
	}
	leaves, err := s.Leaves(ctx, 0, exp.Size)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range exp.Events {
		got := leaves[i]
		if got.Event.Seq != want.Seq || got.Event.ID != want.ID || hexs(got.LeafHash[:]) != want.LeafHash {
			t.Fatalf("leaf %d = seq %d id %s hash %x, want seq %d id %s hash %s", i, got.Event.Seq, got.Event.ID, got.LeafHash, want.Seq, want.ID, want.LeafHash)
		}
	}
	verifyLog(t, s, refLeafHashes(t, s), []uint64{1, 100, 257, exp.Size, s.Size()})
	for _, want := range exp.Batches {
		got, err := s.Batch(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want.State || got.TxID != want.TxID || got.TreeSizeAfter != want.TreeSizeAfter {
			t.Errorf("batch %s = %s tx %q, want %s tx %q", want.ID, got.State, got.TxID, want.State, want.TxID)
		}
	}
	p, err := s.EventByID(ctx, exp.Events[42].ID, 0)
	if err != nil || p.Batch == nil || p.Batch.State != gateway.BatchAnchored {
		t.Errorf("EventByID of an anchored event = %+v, %v", p.Batch, err)
	}
	size := s.Size()
	replay := mustAppend(t, s, testEvents(7, 3, 300))
	for i, e := range replay {
		if e.Seq != uint64(7+i) || e.ID != exp.Events[7+i].ID {
			t.Errorf("replayed event %d answered seq %d id %s, want its stored copy", 7+i, e.Seq, e.ID)
		}
	}
	if s.Size() != size {
		t.Errorf("a replay grew the log from %d to %d", size, s.Size())
	}
}

// TestMigrateFormat1: a store written by the Pebble-only code is migrated
// at open; nothing it acknowledged is lost, its format-1 event records
// are gone, and the next open does not migrate again.
func TestMigrateFormat1(t *testing.T) {
	dir, exp := copyV1Fixture(t)
	ctx := context.Background()
	opts := []Option{WithGateway(testMSP, testGW), WithBatchMaxEvents(100), WithMinFreeBytes(0)}
	s, err := Open(ctx, dir, opts...)
	if err != nil {
		t.Fatalf("Open of a format-1 store: %v", err)
	}
	checkV1Migrated(t, s, exp)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEvent}, UpperBound: []byte{prefixEvent + 1}})
	if err != nil {
		t.Fatal(err)
	}
	if it.First() {
		t.Errorf("format-1 event record %x left after migration", it.Key())
	}
	_ = it.Close()
	v, err := s.get(keyFormat)
	if f, _ := binary.Uvarint(v); err != nil || f != formatSegments {
		t.Errorf("format after migration = %d, %v; want %d", f, err, formatSegments)
	}
	got := mustAppend(t, s, testEvents(9000, 5, 300))
	if got[0].Seq != exp.Size {
		t.Errorf("first new seq %d, want %d", got[0].Seq, exp.Size)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Size() != exp.Size+5 {
		t.Errorf("size after reopen %d, want %d", s2.Size(), exp.Size+5)
	}
	checkV1Migrated(t, s2, exp)
}

// TestMigrateInterrupted: a migration that fails part-way (here a segment
// fsync, after several segments were written) leaves a format-1 store that
// the next open migrates from scratch, losing nothing.
func TestMigrateInterrupted(t *testing.T) {
	for _, failAt := range []int64{1, 3, 6} {
		dir, exp := copyV1Fixture(t)
		ctx := context.Background()
		var syncs atomic.Int64
		inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
			if !strings.HasSuffix(op.Path, ".seg") || op.Kind != errorfs.OpFileSyncData {
				return nil
			}
			if syncs.Add(1) == failAt {
				return errorfs.ErrInjected
			}
			return nil
		})
		_, err := Open(ctx, dir, WithGateway(testMSP, testGW), WithFS(errorfs.Wrap(vfs.Default, inj)), WithSegmentBytes(16<<10), WithMinFreeBytes(0))
		if !errors.Is(err, errorfs.ErrInjected) {
			t.Fatalf("fail at segment sync %d: Open = %v, want the injected error", failAt, err)
		}
		s, err := Open(ctx, dir, WithGateway(testMSP, testGW), WithBatchMaxEvents(100), WithMinFreeBytes(0))
		if err != nil {
			t.Fatalf("fail at segment sync %d: reopen: %v", failAt, err)
		}
		checkV1Migrated(t, s, exp)
		_ = s.Close()
	}
}

// TestNewerFormatRefused: a store of a format this code does not know is
// refused with a *FormatError, untouched.
func TestNewerFormatRefused(t *testing.T) {
	fs := vfs.NewMem()
	s := openTest(t, fs)
	mustAppend(t, s.Store, testEvents(0, 3, 200))
	if err := s.db.Set(keyFormat, binary.AppendUvarint(nil, 9), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_, err := Open(context.Background(), "db", WithGateway(testMSP, testGW), WithFS(fs))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != 9 {
		t.Fatalf("Open of a format-9 store = %v, want *FormatError", err)
	}
}
