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

// FuzzParseFrame: ParseFrame never panics, never returns a payload longer
// than its input, and accepts exactly what PutFrameHeader frames.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add(durable.AppendFrame(nil, []byte("hello")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, ok, why := durable.ParseFrame(data)
		if !ok {
			if why == "" {
				t.Fatal("refused without a reason")
			}
			return
		}
		if len(p)+durable.FrameHeaderSize > len(data) {
			t.Fatalf("payload of %d bytes from %d bytes of input", len(p), len(data))
		}
		var hdr [durable.FrameHeaderSize]byte
		durable.PutFrameHeader(hdr[:], p)
		if string(hdr[:]) != string(data[:durable.FrameHeaderSize]) {
			t.Fatalf("header %x, PutFrameHeader gives %x", data[:durable.FrameHeaderSize], hdr)
		}
	})
}
