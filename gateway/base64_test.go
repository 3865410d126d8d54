package gateway

import (
	"bytes"
	"encoding/base64"
	"syscall"
	"testing"
	"time"
)

// TestAppendBase64Golden pins appendBase64 to RFC 4648's test vectors and
// to encoding/base64 for every length around the 8-byte fast path's
// boundaries, appended after existing bytes: the raw of every stored
// event is encoded so, and leaf hashes and ids depend on it.
func TestAppendBase64Golden(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
		{"foobarba", "Zm9vYmFyYmE="},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00", "AAAAAAAAAAAA"},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff", "////////////"},
		{"\xfb\xef\xbe\xfb\xef\xbe\xfb\xef\xbe\x00", "++++++++++++AA=="},
		{"<34>1 2026-11-25T10:00:00Z host1 sshd 4242 - - Failed password", "PDM0PjEgMjAyNi0xMS0yNVQxMDowMDowMFogaG9zdDEgc3NoZCA0MjQyIC0gLSBGYWlsZWQgcGFzc3dvcmQ="},
	} {
		if got := string(appendBase64(nil, []byte(tc.src))); got != tc.want {
			t.Errorf("appendBase64(%q) = %q, want %q", tc.src, got, tc.want)
		}
	}
	src := make([]byte, 200)
	for i := range src {
		src[i] = byte(i*151 + 7)
	}
	for n := range len(src) + 1 {
		prefix := []byte(`"raw":"`)
		want := base64.StdEncoding.AppendEncode(bytes.Clone(prefix), src[:n])
		if got := appendBase64(bytes.Clone(prefix), src[:n]); !bytes.Equal(got, want) {
			t.Fatalf("length %d: appendBase64 = %q, encoding/base64 %q", n, got, want)
		}
	}
}

// FuzzAppendBase64: appendBase64 appends exactly what encoding/base64's
// StdEncoding appends, after any prefix.
func FuzzAppendBase64(f *testing.F) {
	f.Add([]byte("x"), []byte("foobar"))
	f.Add([]byte{}, bytes.Repeat([]byte{0xff, 0x00, 0x7f}, 40))
	f.Fuzz(func(t *testing.T, prefix, src []byte) {
		got := appendBase64(bytes.Clone(prefix), src)
		want := base64.StdEncoding.AppendEncode(bytes.Clone(prefix), src)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendBase64(%q, %q) = %q, encoding/base64 %q", prefix, src, got, want)
		}
	})
}

// BenchmarkAppendBase64 compares appendBase64 with encoding/base64 on a
// raw of the size of an NSL-KDD or sshd line, in CPU ns per encoding
// (cpu-ns/op: the box is shared, wall time is not the figure).
func BenchmarkAppendBase64(b *testing.B) {
	src := bytes.Repeat([]byte("0,tcp,http,SF,181,5450,0,0,0,0,"), 20)
	dst := make([]byte, 0, 1024)
	for _, bc := range []struct {
		name string
		enc  func(dst, src []byte) []byte
	}{{"std", base64.StdEncoding.AppendEncode}, {"pairs", appendBase64}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			start := processCPU()
			for b.Loop() {
				dst = bc.enc(dst[:0], src)
			}
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
