package onfabric

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAtomicCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "respond.checkpoint")
	c, err := OpenCheckpointer(path)
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
	r, err := OpenCheckpointer(path)
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
	if _, err := OpenCheckpointer(path); err == nil {
		t.Fatal("a corrupt checkpoint opened without error")
	}
}
