package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestErrorUnwrapAndString(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := error(Wrap(gateway.CodeInvalid, "ndjson", 3, 2, "bad line", cause))
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(cause) = false")
	}
	var ie *Error
	if !errors.As(err, &ie) || ie.Line != 3 || ie.Event != 2 || ie.Code != gateway.CodeInvalid {
		t.Errorf("errors.As: %+v", ie)
	}
	if got, want := err.Error(), "ndjson: malformed: line 3: bad line: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadBody(t *testing.T) {
	plain := []byte("hello world")
	bomb := gz(bytes.Repeat([]byte("a"), 1<<20))
	tests := []struct {
		name     string
		body     []byte
		encoding string
		max      int64
		want     string
		wantCode gateway.Code
	}{
		{"identity", plain, "", 100, "hello world", ""},
		{"identity explicit", plain, "identity", 100, "hello world", ""},
		{"gzip", gz(plain), "gzip", 100, "hello world", ""},
		{"x-gzip upper", gz(plain), "X-GZIP", 100, "hello world", ""},
		{"exactly max", plain, "", int64(len(plain)), "hello world", ""},
		{"over max", plain, "", 5, "", gateway.CodeTooLarge},
		{"gzip bomb", bomb, "gzip", 1 << 10, "", gateway.CodeTooLarge},
		{"corrupt gzip", []byte("not gzip at all"), "gzip", 100, "", gateway.CodeInvalid},
		{"truncated gzip", gz(plain)[:15], "gzip", 100, "", gateway.CodeInvalid},
		{"empty gzip", nil, "gzip", 100, "", gateway.CodeNoData},
		{"br unsupported", plain, "br", 100, "", gateway.CodeUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBody(bytes.NewReader(tt.body), tt.encoding, tt.max)
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v (err %v)", c, tt.wantCode, err)
			}
			if string(got) != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReadBodySized: the declared size only sizes the first buffer; the
// body read and the limit are the same whatever it says.
func TestReadBodySized(t *testing.T) {
	plain := []byte("hello world")
	tests := []struct {
		name     string
		declared int64
		max      int64
		want     string
		wantCode gateway.Code
	}{
		{"exact", int64(len(plain)), 100, "hello world", ""},
		{"unknown", -1, 100, "hello world", ""},
		{"declared smaller", 3, 100, "hello world", ""},
		{"declared larger", 1 << 40, 100, "hello world", ""},
		{"over max", int64(len(plain)), 5, "", gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBodySized(bytes.NewReader(plain), "", tt.max, tt.declared)
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v (err %v)", c, tt.wantCode, err)
			}
			if string(got) != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
			if tt.declared > tt.max && int64(cap(got)) > tt.max+1+512 { // a lying size costs no more than the limit
				t.Errorf("buffer of %d bytes for a limit of %d", cap(got), tt.max)
			}
		})
	}
}

func TestLines(t *testing.T) {
	type line struct {
		n int
		s string
	}
	tests := []struct {
		name     string
		body     string
		max      int
		want     []line
		wantCode gateway.Code
	}{
		{"lf", "a\nb\n", 10, []line{{1, "a"}, {2, "b"}}, ""},
		{"crlf", "a\r\nb", 10, []line{{1, "a"}, {2, "b"}}, ""},
		{"blank kept", "a\n\nb", 10, []line{{1, "a"}, {2, ""}, {3, "b"}}, ""},
		{"empty", "", 10, nil, ""},
		{"too long", "ok\n0123456789x\n", 10, []line{{1, "ok"}}, gateway.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []line
			err := Lines("t", []byte(tt.body), tt.max, func(n int, l []byte) error {
				got = append(got, line{n, string(l)})
				return nil
			})
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v", c, tt.wantCode)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewEvent(t *testing.T) {
	recv := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	raw := []byte("raw bytes")
	m := Meta{Source: "s", Sourcetype: "st", Host: "h", Index: "i", Received: recv}
	ev := NewEvent(m, raw, time.Time{}, "", nil)
	raw[0] = 'X' // the event must not alias the caller's buffer
	if string(ev.Raw) != "raw bytes" {
		t.Errorf("Raw aliases input: %q", ev.Raw)
	}
	if got, want := ev.ID, gateway.ComputeID("s", "st", []byte("raw bytes")); got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	if !ev.Time.Equal(recv) || !ev.Received.Equal(recv) {
		t.Errorf("Time/Received = %v/%v, want %v", ev.Time, ev.Received, recv)
	}
	if ev.Class != gateway.ClassOther || ev.Seq != 0 {
		t.Errorf("Class/Seq = %q/%d", ev.Class, ev.Seq)
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	got := Limits{MaxEvents: 5}.WithDefaults()
	want := Limits{MaxBodyBytes: DefaultMaxBodyBytes, MaxEvents: 5, MaxLineBytes: DefaultMaxLineBytes,
		MaxDepth: DefaultMaxDepth, MaxDecodeBytes: DefaultMaxDecodeBytes, MaxConcurrentDecodes: DefaultMaxConcurrentDecodes, DecodeWait: DefaultDecodeWait}
	if got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
	if err := (Limits{MaxBodyBytes: 3}).CheckBody("t", 4); gateway.ErrorCode(err) != gateway.CodeTooLarge {
		t.Errorf("CheckBody over limit: %v", err)
	}
	if err := (Limits{MaxEvents: 2}).CheckEvents("t", 3, 7); gateway.ErrorCode(err) != gateway.CodeTooLarge {
		t.Errorf("CheckEvents over limit: %v", err)
	}
	if !strings.Contains(Errorf(gateway.CodeTooLarge, "t", 0, 4, "x").Error(), "event 4") {
		t.Errorf("event position missing from message")
	}
}
