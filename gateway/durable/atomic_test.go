package durable_test

import (
	"errors"
	"io"
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

// AtomicWrite streams through the same steps as AtomicReplace: every
// failing file operation leaves the old content and no temporary file
// behind (except a failed directory fsync, after the rename), and an error
// of the caller's write function comes back as it was, not as a *Error.
func TestAtomicWriteStreams(t *testing.T) {
	errCaller := errors.New("the source failed half-way")
	tests := []struct {
		name    string
		fsys    *faultfs.FS
		write   func(io.Writer) error
		wantOp  string // "" means the caller's own error
		wantErr error
		want    string
	}{
		{"ok", faultfs.New(nil), chunks("a", "b", "c"), "", nil, "abc"},
		{"caller fails", faultfs.New(nil), func(w io.Writer) error {
			_, _ = io.WriteString(w, "partial")
			return errCaller
		}, "", errCaller, "old"},
		{"create", faultfs.New(nil).FailNext(faultfs.OpCreate), chunks("a"), "create", faultfs.ErrInjected, "old"},
		{"second write", faultfs.New(nil).FailNth(faultfs.OpWrite, 2), chunks("a", "b"), "write", faultfs.ErrInjected, "old"},
		{"write error ignored by the caller", faultfs.New(nil).FailNext(faultfs.OpWrite), func(w io.Writer) error {
			_, _ = io.WriteString(w, "lost")
			return nil
		}, "write", faultfs.ErrInjected, "old"},
		{"fsync", faultfs.New(nil).FailNext(faultfs.OpSync), chunks("a"), "fsync", faultfs.ErrInjected, "old"},
		{"close", faultfs.New(nil).FailNext(faultfs.OpClose), chunks("a"), "close", faultfs.ErrInjected, "old"},
		{"rename", faultfs.New(nil).FailNext(faultfs.OpRename), chunks("a"), "rename", faultfs.ErrInjected, "old"},
		{"fsync dir", faultfs.New(nil).FailNext(faultfs.OpSyncDir), chunks("a"), "fsync dir", faultfs.ErrInjected, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bundle")
			if err := durable.AtomicReplace(nil, path, []byte("old")); err != nil {
				t.Fatal(err)
			}
			err := durable.AtomicWrite(tt.fsys, path, tt.write)
			var de *durable.Error
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("AtomicWrite = %v, want success", err)
			case tt.wantOp == "" && tt.wantErr != nil && (err != tt.wantErr || errors.As(err, &de)):
				t.Fatalf("AtomicWrite = %v, want the caller's error as it was", err)
			case tt.wantOp != "" && (!errors.As(err, &de) || de.Op != tt.wantOp || !errors.Is(err, tt.wantErr)):
				t.Fatalf("AtomicWrite = %v, want a *durable.Error %q wrapping %v", err, tt.wantOp, tt.wantErr)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary file left behind (stat: %v)", err)
			}
		})
	}
}

// chunks returns a write function that writes each part in its own Write.
func chunks(parts ...string) func(io.Writer) error {
	return func(w io.Writer) error {
		for _, p := range parts {
			if _, err := io.WriteString(w, p); err != nil {
				return err
			}
		}
		return nil
	}
}
