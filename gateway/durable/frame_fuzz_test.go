package durable_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// FuzzReadFrames: on any input ReadFrames never panics; it either refuses
// with a *CorruptError, or the records it returns re-encode to exactly the
// prefix it declares valid, and that prefix reads back without a cut.
func FuzzReadFrames(f *testing.F) {
	two := durable.AppendFrame(durable.AppendFrame(nil, []byte(`{"k":"a|run","op":"started"}`)), []byte("b"))
	f.Add([]byte{})
	f.Add(two)
	f.Add(append(bytes.Clone(two), 1, 2, 3))
	f.Add(append(bytes.Clone(two[:len(two)-1]), 'x'))
	f.Add(append([]byte("junk"), two...))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		var records [][]byte
		n, err := durable.ReadFrames("fuzz", 0, data, func(p []byte) error {
			records = append(records, bytes.Clone(p))
			return nil
		})
		if n < 0 || n > len(data) {
			t.Fatalf("valid prefix %d outside [0,%d]", n, len(data))
		}
		if err != nil {
			var ce *durable.CorruptError
			if !errors.As(err, &ce) || ce.Offset != int64(n) {
				t.Fatalf("error %v is not a *CorruptError at %d", err, n)
			}
			return
		}
		var again []byte
		for _, r := range records {
			again = durable.AppendFrame(again, r)
		}
		if !bytes.Equal(again, data[:n]) {
			t.Fatal("records do not re-encode to the valid prefix")
		}
		m, err := durable.ReadFrames("fuzz", 0, data[:n], func([]byte) error { return nil })
		if err != nil || m != n {
			t.Fatalf("valid prefix reads back as %d, %v; want %d, nil", m, err, n)
		}
	})
}
