package faultfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFailNthAndShortWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	fsys := New(nil).FailNth(OpSync, 2).ShortNextWrite(3)
	f, err := fsys.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := f.Write([]byte("abcdef"))
	var fault *Fault
	if !errors.As(err, &fault) || fault.Op != OpWrite || fault.N != 1 || fault.Path != path || n != 3 {
		t.Fatalf("Write = %d, %v; want 3 bytes and the write fault #1 on %s", n, err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "abc" {
		t.Fatalf("file holds %q after a short write, want \"abc\"", b)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync #1 = %v, want nil", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("sync #2 = %v, want the injected fault", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync #3 = %v, want nil (a fault fires once)", err)
	}
	if got, want := fsys.Count(OpSync), 3; got != want {
		t.Fatalf("Count(sync) = %d, want %d", got, want)
	}
}
