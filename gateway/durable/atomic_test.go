package durable_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

func TestAtomicReplaceKeepsOldContentOnFailure(t *testing.T) {
	tests := []struct {
		op      faultfs.Op
		wantOp  string
		newSeen bool // the rename happened, only its durability failed
	}{
		{faultfs.OpCreate, "create", false},
		{faultfs.OpWrite, "write", false},
		{faultfs.OpSync, "fsync", false},
		{faultfs.OpClose, "close", false},
		{faultfs.OpRename, "rename", false},
		{faultfs.OpSyncDir, "fsync dir", true},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			if err := durable.AtomicReplace(nil, path, []byte("old")); err != nil {
				t.Fatal(err)
			}
			fsys := faultfs.New(nil).FailNext(tt.op)
			err := durable.AtomicReplace(fsys, path, []byte("new"))
			var de *durable.Error
			if !errors.As(err, &de) || de.Op != tt.wantOp || !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("AtomicReplace = %v, want a *durable.Error %q wrapping the fault", err, tt.wantOp)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := "old"
			if tt.newSeen {
				want = "new"
			}
			if got := string(b); got != want {
				t.Fatalf("content after a failed %s = %q, want %q", tt.op, got, want)
			}
			if err := durable.AtomicReplace(fsys, path, []byte("again")); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if b, _ := os.ReadFile(path); string(b) != "again" {
				t.Fatalf("content after retry = %q", b)
			}
		})
	}
}

func TestAtomicReplaceShortWriteLeavesOldContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := durable.AtomicReplace(nil, path, []byte("old content")); err != nil {
		t.Fatal(err)
	}
	if err := durable.AtomicReplace(faultfs.New(nil).ShortNextWrite(3), path, []byte("new content")); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("AtomicReplace = %v, want the injected fault", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old content" {
		t.Fatalf("content = %q, want the old content", got)
	}
}
