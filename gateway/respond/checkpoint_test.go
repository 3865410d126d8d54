package respond

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

func TestFileCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "respond.checkpoint")
	c, err := OpenCheckpoint(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BlockNumber() != 0 || c.TransactionID() != "" {
		t.Fatalf("new checkpoint at %d/%q, want 0/\"\"", c.BlockNumber(), c.TransactionID())
	}
	if err := c.CheckpointTransaction(42, "tx-a"); err != nil {
		t.Fatal(err)
	}
	// A crash while writing the next position leaves a torn temporary
	// file beside the checkpoint; the checkpoint itself is intact.
	if err := os.WriteFile(path+".tmp", []byte(`{"blockNum`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenCheckpoint(path, nil)
	if err != nil {
		t.Fatalf("reopen after a torn write: %v", err)
	}
	if got, want := r.BlockNumber(), uint64(42); got != want || r.TransactionID() != "tx-a" {
		t.Fatalf("reopened at %d/%q, want %d/tx-a", got, r.TransactionID(), want)
	}
	// The format is fabric-gateway's FileCheckpointer's.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"blockNumber":42,"transactionId":"tx-a"}`; got != want {
		t.Fatalf("file = %s, want %s", got, want)
	}
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *durable.CorruptError
	if _, err := OpenCheckpoint(path, nil); !errors.As(err, &ce) {
		t.Fatalf("a corrupt checkpoint opened with %v, want a *durable.CorruptError", err)
	}
}

func TestFileCheckpointCreatesAbsentAndReadsEmptyFile(t *testing.T) {
	dir := t.TempDir()
	absent := filepath.Join(dir, "absent")
	if _, err := OpenCheckpoint(absent, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(absent); err != nil || string(b) != `{"blockNumber":0,"transactionId":""}` {
		t.Fatalf("created file = %q, %v", b, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCheckpoint(empty, nil)
	if err != nil || c.BlockNumber() != 0 || c.TransactionID() != "" {
		t.Fatalf("empty file opened at %v, %v", c, err)
	}
}

// TestFileCheckpointFaults: whichever step of a position's write fails,
// the call reports it, the checkpoint keeps its previous position and a
// restart (reopen) reads the last durable one.
func TestFileCheckpointFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*faultfs.FS)
	}{
		{"create", func(f *faultfs.FS) { f.FailNext(faultfs.OpCreate) }},
		{"write", func(f *faultfs.FS) { f.FailNext(faultfs.OpWrite) }},
		{"torn write", func(f *faultfs.FS) { f.ShortNextWrite(10) }},
		{"fsync", func(f *faultfs.FS) { f.FailNext(faultfs.OpSync) }},
		{"rename", func(f *faultfs.FS) { f.FailNext(faultfs.OpRename) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "respond.checkpoint")
			fsys := faultfs.New(nil)
			c, err := OpenCheckpoint(path, fsys)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CheckpointTransaction(7, "tx-7"); err != nil {
				t.Fatal(err)
			}
			tt.inject(fsys)
			if err := c.CheckpointTransaction(8, "tx-8"); !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("CheckpointTransaction = %v, want the injected fault", err)
			}
			if c.BlockNumber() != 7 || c.TransactionID() != "tx-7" {
				t.Fatalf("in memory at %d/%s after a failed write, want 7/tx-7", c.BlockNumber(), c.TransactionID())
			}
			r, err := OpenCheckpoint(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.BlockNumber() != 7 || r.TransactionID() != "tx-7" {
				t.Fatalf("reopened at %d/%s, want 7/tx-7", r.BlockNumber(), r.TransactionID())
			}
			if err := c.CheckpointTransaction(8, "tx-8"); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
}
