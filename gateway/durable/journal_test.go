package durable_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

func replayAll(t *testing.T, fsys durable.FS, path string) (*durable.Journal, []string) {
	t.Helper()
	var got []string
	j, err := durable.OpenJournal(fsys, path, func(r []byte) error {
		got = append(got, string(r))
		return nil
	})
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	return j, got
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestJournalReplaysAppendsInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, got := replayAll(t, nil, path)
	if len(got) != 0 {
		t.Fatalf("new journal replayed %q", got)
	}
	if err := j.Append([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte("b"), []byte(""), []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte("x")); !errors.Is(err, durable.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	j, got = replayAll(t, nil, path)
	defer j.Close()
	if want := []string{"a", "b", "", "c"}; !equal(got, want) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
	if err := j.Rewrite([][]byte{[]byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte("d")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	_, got = replayAll(t, nil, path)
	if want := []string{"c", "d"}; !equal(got, want) {
		t.Fatalf("after Rewrite replayed %q, want %q", got, want)
	}
}

func TestJournalCutsTornTail(t *testing.T) {
	whole := durable.AppendFrame(durable.AppendFrame([]byte(durable.Magic), []byte("a")), []byte("b"))
	last := durable.AppendFrame(nil, []byte("torn record"))
	tests := []struct {
		name string
		file []byte
		want []string
	}{
		{"empty file", nil, nil},
		{"partial magic", []byte(durable.Magic[:3]), nil},
		{"partial header", append(bytes.Clone(whole), last[:5]...), []string{"a", "b"}},
		{"partial payload", append(bytes.Clone(whole), last[:len(last)-2]...), []string{"a", "b"}},
		{"bad checksum in last frame", append(bytes.Clone(whole), flip(last, 10)...), []string{"a", "b"}},
		{"zeroed tail", append(bytes.Clone(whole), make([]byte, 100)...), []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			j, got := replayAll(t, nil, path)
			if !equal(got, tt.want) {
				t.Fatalf("replayed %q, want %q", got, tt.want)
			}
			if err := j.Append([]byte("next")); err != nil {
				t.Fatal(err)
			}
			j.Close()
			_, got = replayAll(t, nil, path)
			if want := append(tt.want, "next"); !equal(got, want) {
				t.Fatalf("after the cut replayed %q, want %q", got, want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

func TestJournalRefusesDamageInTheMiddle(t *testing.T) {
	a := durable.AppendFrame(nil, []byte("first record"))
	b := durable.AppendFrame(nil, []byte("second record"))
	tests := []struct {
		name   string
		middle []byte
	}{
		{"bad checksum", flip(a, 9)},
		{"bad length", flip(a, 0)},
		{"garbage", []byte("garbage!!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			file := append(append([]byte(durable.Magic), tt.middle...), b...)
			if err := os.WriteFile(path, file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := durable.OpenJournal(nil, path, func([]byte) error { return nil })
			var ce *durable.CorruptError
			if !errors.As(err, &ce) || ce.Path != path || ce.Offset != int64(len(durable.Magic)) {
				t.Fatalf("OpenJournal = %v, want a *CorruptError at %s offset %d", err, path, len(durable.Magic))
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, file) {
				t.Fatal("a refused journal was changed")
			}
		})
	}
}

func TestJournalRefusesOtherFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := os.WriteFile(path, []byte(`{"p":"x","v":"y"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := durable.OpenJournal(nil, path, func([]byte) error { return nil })
	var fe *durable.FormatError
	if !errors.As(err, &fe) || fe.Path != path {
		t.Fatalf("OpenJournal = %v, want a *FormatError", err)
	}
}

func TestJournalReplayErrorStopsOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := durable.WriteJournal(nil, path, [][]byte{[]byte("a")}); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("bad record")
	_, err := durable.OpenJournal(nil, path, func([]byte) error { return bad })
	var re *durable.RecordError
	if !errors.As(err, &re) || !errors.Is(err, bad) || re.Path != path || re.Offset != int64(len(durable.Magic)) {
		t.Fatalf("OpenJournal = %v, want a *RecordError at offset %d wrapping the replay error", err, len(durable.Magic))
	}
}

// TestJournalFailureIsFatal: after a failed write or fsync every later
// call returns the same error, and reopening yields the records durable
// before it (plus, possibly, the failed one, whose write may have landed:
// the caller never saw it acknowledged).
func TestJournalFailureIsFatal(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*faultfs.FS)
		wantOp string
		maybe  bool // the failed record may have reached the file
	}{
		{"fsync", func(f *faultfs.FS) { f.FailNext(faultfs.OpSync) }, "fsync", true},
		{"write", func(f *faultfs.FS) { f.FailNext(faultfs.OpWrite) }, "write", false},
		{"short write", func(f *faultfs.FS) { f.ShortNextWrite(5) }, "write", false},
		{"rewrite rename", func(f *faultfs.FS) { f.FailNext(faultfs.OpRename) }, "rename", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			fsys := faultfs.New(nil)
			j, _ := replayAll(t, fsys, path)
			if err := j.Append([]byte("durable")); err != nil {
				t.Fatal(err)
			}
			tt.inject(fsys)
			var err error
			if tt.wantOp == "rename" {
				err = j.Rewrite([][]byte{[]byte("durable"), []byte("failed")})
			} else {
				err = j.Append([]byte("failed"))
			}
			var de *durable.Error
			if !errors.As(err, &de) || de.Op != tt.wantOp || !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("got %v, want a *durable.Error %q wrapping the fault", err, tt.wantOp)
			}
			for i := 0; i < 2; i++ {
				if later := j.Append([]byte("later")); later != err {
					t.Fatalf("Append after the failure = %v, want the same error %v", later, err)
				}
			}
			if j.Err() != err {
				t.Fatalf("Err = %v, want %v", j.Err(), err)
			}
			j.Close()
			j, got := replayAll(t, nil, path) // the restart after the crash
			defer j.Close()
			want := []string{"durable"}
			if tt.maybe && len(got) == 2 {
				want = append(want, "failed")
			}
			if !equal(got, want) {
				t.Fatalf("after reopen replayed %q, want %q", got, want)
			}
		})
	}
}

func TestAppendRefusesOversizedRecordWithoutBreaking(t *testing.T) {
	j, _ := replayAll(t, nil, filepath.Join(t.TempDir(), "j"))
	defer j.Close()
	var tl *durable.TooLargeError
	if err := j.Append(make([]byte, durable.MaxRecord+1)); !errors.As(err, &tl) {
		t.Fatalf("Append = %v, want *TooLargeError", err)
	}
	if err := j.Append([]byte("fine")); err != nil {
		t.Fatalf("Append after a refused record: %v", err)
	}
}

func TestOpenOrConvert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := os.WriteFile(path, []byte("a,b,c"), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := 0
	convert := func(old []byte) ([][]byte, error) {
		calls++
		return bytes.Split(old, []byte(",")), nil
	}
	open := func(fsys durable.FS) ([]string, error) {
		var got []string
		j, err := durable.OpenOrConvert(fsys, path, func(r []byte) error {
			got = append(got, string(r))
			return nil
		}, convert)
		if err == nil {
			j.Close()
		}
		return got, err
	}
	// A conversion whose rename fails leaves the old file for the next try.
	if _, err := open(faultfs.New(nil).FailNext(faultfs.OpRename)); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("OpenOrConvert = %v, want the injected fault", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "a,b,c" {
		t.Fatalf("old file after a failed conversion = %q", b)
	}
	for i := range 2 {
		got, err := open(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a", "b", "c"}; !equal(got, want) {
			t.Fatalf("open %d replayed %q, want %q", i, got, want)
		}
	}
	if got, want := calls, 2; got != want {
		t.Fatalf("convert ran %d times, want %d (the failed try and the conversion)", got, want)
	}
	bad := errors.New("unparsable")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := durable.OpenOrConvert(nil, path, func([]byte) error { return nil }, func([]byte) ([][]byte, error) { return nil, bad })
	if !errors.Is(err, bad) {
		t.Fatalf("OpenOrConvert = %v, want the converter's error", err)
	}
}
