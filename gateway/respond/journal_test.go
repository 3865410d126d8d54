package respond

import (
	"os"
	"path/filepath"
	"testing"
)

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
			f := appendFrame(nil, record{Key: "z|run", Op: opStarted})
			f[5] ^= 0xff
			return append(b, f...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal")
			whole := appendFrame(nil, record{Key: "a|run", Op: opStarted})
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
