package respond

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/durable/faultfs"
)

// frame is one journal record as the file holds it.
func frame(r record) []byte { return durable.AppendFrame(nil, encode(r)) }

func TestJournalSurvivesReopenAndDropsRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j, err := OpenJournal(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.Started("a|run", 0))
	must(j.Finished("a|run", 0, actionResult{OK: true, Detail: "HTTP 200"}))
	must(j.Started("a|run", 1))
	must(j.Started("b|run", 0))
	must(j.Recorded("b|run", "succeeded"))
	must(j.Close())

	j, err = OpenJournal(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, ok := j.Get("a|run")
	if !ok || got.Finished[0] != (actionResult{OK: true, Detail: "HTTP 200"}) || !got.Started[1] || got.Finished[1] != (actionResult{}) {
		t.Fatalf("a|run = %+v (known %v)", got, ok)
	}
	if _, ok := j.Get("b|run"); ok {
		t.Fatal("a recorded execution survived the reopen")
	}
	if j.Len() != 1 {
		t.Fatalf("Len = %d, want 1", j.Len())
	}
}

func TestJournalDropsTornTail(t *testing.T) {
	tests := []struct {
		name string
		tail func(whole []byte) []byte
	}{
		{"partial header", func(b []byte) []byte { return append(b, 1, 2, 3) }},
		{"partial payload", func(b []byte) []byte { return append(b, 50, 0, 0, 0, 9, 9, 9, 9, '{') }},
		{"bad checksum", func(b []byte) []byte {
			f := frame(record{Key: "z|run", Op: opStarted})
			f[5] ^= 0xff
			return append(b, f...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal")
			whole := append([]byte(durable.Magic), frame(record{Key: "a|run", Op: opStarted})...)
			if err := os.WriteFile(path, tt.tail(whole), 0o600); err != nil {
				t.Fatal(err)
			}
			j, err := OpenJournal(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if e, ok := j.Get("a|run"); !ok || !e.Started[0] {
				t.Fatal("the whole record before the damage was lost")
			}
			if _, ok := j.Get("z|run"); ok || j.Len() != 1 {
				t.Fatal("a damaged record was applied")
			}
			if err := j.Started("c|run", 0); err != nil {
				t.Fatalf("append after recovery: %v", err)
			}
		})
	}
}

// TestJournalConvertsLegacyFormat: a journal written before the durable
// format (frames without a header, checksum over the payload only) keeps
// every live execution across the upgrade and is rewritten in the new
// format.
func TestJournalConvertsLegacyFormat(t *testing.T) {
	legacy := func(buf []byte, r record) []byte {
		p := encode(r)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p)))
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)))
		return append(buf, p...)
	}
	var old []byte
	old = legacy(old, record{Key: "a|run", Op: opStarted})
	old = legacy(old, record{Key: "a|run", Op: opFinished, OK: true, Detail: "HTTP 200"})
	old = legacy(old, record{Key: "b|run", Op: opStarted})
	old = legacy(old, record{Key: "b|run", Op: opRecorded, Status: "succeeded"})
	old = append(old, 9, 0, 0) // torn tail, as the old reader allowed
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // converted once, then read as a durable journal
		j, err := OpenJournal(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := j.Get("a|run")
		if !ok || !got.Started[0] || got.Finished[0] != (actionResult{OK: true, Detail: "HTTP 200"}) {
			t.Fatalf("a|run = %+v (known %v)", got, ok)
		}
		if _, ok := j.Get("b|run"); ok || j.Len() != 1 {
			t.Fatal("a recorded execution survived the conversion")
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if string(b[:len(durable.Magic)]) != durable.Magic {
			t.Fatal("the journal was not rewritten in the durable format")
		}
	}
}

func TestJournalRefusesDamageBeforeValidRecords(t *testing.T) {
	bad := frame(record{Key: "a|run", Op: opStarted})
	bad[5] ^= 0xff
	file := append(append([]byte(durable.Magic), bad...), frame(record{Key: "b|run", Op: opStarted})...)
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenJournal(path, nil)
	var ce *durable.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrJournal) || ce.Offset != int64(len(durable.Magic)) {
		t.Fatalf("OpenJournal = %v, want ErrJournal with a *durable.CorruptError at %d", err, len(durable.Magic))
	}
}

// TestJournalFaults: a failed write, torn write or fsync breaks the
// journal for good, and a restart recovers exactly what was durable (the
// unacknowledged record may or may not be there).
func TestJournalFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*faultfs.FS)
	}{
		{"fsync", func(f *faultfs.FS) { f.FailNext(faultfs.OpSync) }},
		{"write", func(f *faultfs.FS) { f.FailNext(faultfs.OpWrite) }},
		{"torn write", func(f *faultfs.FS) { f.ShortNextWrite(11) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal")
			fsys := faultfs.New(nil)
			j, err := OpenJournal(path, fsys)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Started("a|run", 0); err != nil {
				t.Fatal(err)
			}
			tt.inject(fsys)
			if err := j.Finished("a|run", 0, actionResult{OK: true}); !errors.Is(err, ErrJournal) || !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("Finished = %v, want ErrJournal wrapping the fault", err)
			}
			if err := j.Started("b|run", 0); !errors.Is(err, ErrJournal) {
				t.Fatalf("Started after the failure = %v, want ErrJournal", err)
			}
			if _, ok := j.Get("b|run"); ok {
				t.Fatal("a refused record was applied")
			}
			j.Close()
			r, err := OpenJournal(path, nil)
			if err != nil {
				t.Fatalf("reopen after the failure: %v", err)
			}
			defer r.Close()
			got, ok := r.Get("a|run")
			if !ok || !got.Started[0] {
				t.Fatalf("the durable record was lost: %+v", got)
			}
			if _, ok := r.Get("b|run"); ok {
				t.Fatal("a record appended after the failure survived")
			}
		})
	}
}

// gatedFS counts fsyncs of appended files and holds the first one until
// release is closed; the *failSync-th one (from 1) fails.
type gatedFS struct {
	durable.OS
	mu       *sync.Mutex
	syncs    *int
	entered  chan struct{}
	release  chan struct{}
	failSync *int // nil: none
}

// errSyncInjected is gatedFS's failed fsync.
var errSyncInjected = errors.New("injected fsync failure")

type gatedFile struct {
	durable.File
	fs gatedFS
}

func (f gatedFS) OpenAppend(name string) (durable.File, error) {
	file, err := f.OS.OpenAppend(name)
	return gatedFile{file, f}, err
}

func (f gatedFile) Sync() error {
	f.fs.mu.Lock()
	*f.fs.syncs++
	first, fail := *f.fs.syncs == 1, f.fs.failSync != nil && *f.fs.syncs == *f.fs.failSync
	f.fs.mu.Unlock()
	if first {
		close(f.fs.entered)
		<-f.fs.release
	}
	if fail {
		return errSyncInjected
	}
	return f.File.Sync()
}

// TestJournalGroupCommit: appends that arrive while an fsync runs share
// the next one, and every append is durable when it returns.
func TestJournalGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	var mu sync.Mutex
	syncs := 0
	fsys := gatedFS{mu: &mu, syncs: &syncs, entered: make(chan struct{}), release: make(chan struct{})}
	j, err := OpenJournal(path, fsys)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	syncs = 0 // opening rewrote the file; count the appends' fsyncs only
	mu.Unlock()
	var released sync.Once
	release := func() { released.Do(func() { close(fsys.release) }) }
	defer release()

	first := make(chan error, 1)
	go func() { first <- j.Started("r0|run", 0) }()
	<-fsys.entered
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- j.Started(fmt.Sprintf("r%d|run", i+1), 0) }()
	}
	waitFor(t, "every later append waiting", func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return len(j.pending) == n
	})
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	got := syncs
	mu.Unlock()
	if got != 2 {
		t.Fatalf("%d fsyncs for %d appends, want 2 (the first, then the rest together)", got, n+1)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenJournal(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.Len(); got != n+1 {
		t.Fatalf("reopened journal holds %d executions, want %d", got, n+1)
	}
}

// TestJournalGroupCommitFailure: when the fsync of a group commit fails,
// every append of the group gets ErrJournal (none is told it is
// durable), none is applied, later appends are refused, and a reopen
// holds what was acknowledged before.
func TestJournalGroupCommitFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	var mu sync.Mutex
	syncs := 0
	failSync := 0
	fsys := gatedFS{mu: &mu, syncs: &syncs, entered: make(chan struct{}), release: make(chan struct{}), failSync: &failSync}
	j, err := OpenJournal(path, fsys)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	mu.Lock()
	syncs = 0    // opening rewrote the file; count the appends' fsyncs only
	failSync = 2 // the group's write, after the first append's
	mu.Unlock()
	var released sync.Once
	release := func() { released.Do(func() { close(fsys.release) }) }
	defer release()

	first := make(chan error, 1)
	go func() { first <- j.Started("r0|run", 0) }()
	<-fsys.entered
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- j.Started(fmt.Sprintf("r%d|run", i+1), 0) }()
	}
	waitFor(t, "every later append waiting", func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		return len(j.pending) == n
	})
	release()
	if err := <-first; err != nil {
		t.Fatalf("the append before the failure: %v", err)
	}
	for range n {
		if err := <-errs; !errors.Is(err, ErrJournal) || !errors.Is(err, errSyncInjected) {
			t.Fatalf("an append of the failed group = %v, want ErrJournal wrapping the fault", err)
		}
	}
	for i := range n {
		if _, ok := j.Get(fmt.Sprintf("r%d|run", i+1)); ok {
			t.Fatalf("r%d|run applied though its write failed", i+1)
		}
	}
	mu.Lock()
	got := syncs
	mu.Unlock()
	if got != 2 {
		t.Fatalf("%d fsyncs, want 2 (the first append's, then the group's that failed)", got)
	}
	if err := j.Started("later|run", 0); !errors.Is(err, ErrJournal) {
		t.Fatalf("an append after the failure = %v, want ErrJournal", err)
	}
	again, err := OpenJournal(path, nil)
	if err != nil {
		t.Fatalf("reopen after the failure: %v", err)
	}
	defer again.Close()
	if got, ok := again.Get("r0|run"); !ok || !got.Started[0] {
		t.Fatalf("the acknowledged record was lost: %+v", got)
	}
}
