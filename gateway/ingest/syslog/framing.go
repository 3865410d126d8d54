// Package syslog reads syslog over TCP (or TLS) and parses each message into
// a gateway event.
//
// Framing (Reader) follows RFC 6587 and detects the method per frame, as
// section 3.4 allows senders to be either kind: a frame that starts with a
// non-zero digit, digits and a space is octet-counted ("LEN SP MSG", RFC
// 6587 3.4.1 and RFC 5425); anything else is non-transparently framed and
// ends at LF (3.4.2), with a trailing CR or NUL dropped. Empty frames
// (stray LF, CRLF, NUL between messages) are skipped. A frame longer than
// the maximum message size is refused with CodeTooLarge before it is
// buffered, and the stream is then unusable (its framing is lost), so the
// connection should be closed.
//
// Messages (Parser) are RFC 5424 or RFC 3164, detected per message, parsed
// by github.com/leodido/go-syslog/v4: the maintained continuation of
// influxdata/go-syslog, used by Telegraf and the OpenTelemetry Collector's
// syslog receiver, with Ragel-generated state machines that follow the RFC
// grammars exactly and parse a message in about a microsecond without
// reflection. Its stream parsers are not used because each supports one
// framing per stream; the per-frame detection above is ours. RFC 3164
// timestamps carry no year; the Parser gives them the year that puts them
// closest before the receive time (plus a day of clock skew), never the
// machine clock, so parsing is deterministic.
package syslog

import (
	"bufio"
	"errors"
	"io"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"

	"github.com/ledgerguard/ledgerguard/gateway"
)

const proto = "syslog"

// Reader splits a syslog byte stream into messages.
type Reader struct {
	br    *bufio.Reader
	max   int
	buf   []byte
	frame int // frames returned so far
	err   error
}

// NewReader returns a Reader over r that refuses messages longer than
// maxMessage bytes (<= 0: ingest.DefaultMaxLineBytes). RFC 5425 asks
// receivers to accept at least 2048 bytes and recommends 8192.
func NewReader(r io.Reader, maxMessage int) *Reader {
	if maxMessage <= 0 {
		maxMessage = ingest.DefaultMaxLineBytes
	}
	size := 64 << 10
	if maxMessage+16 < size {
		size = maxMessage + 16
	}
	return &Reader{br: bufio.NewReaderSize(r, max(size, 32)), max: maxMessage}
}

// Next returns the next message without its framing. The slice is valid
// until the following call. It returns io.EOF at a clean end of stream, and
// an *ingest.Error (gateway.CodeTooLarge or gateway.CodeInvalid, Event = 0-based frame
// number) for a framing error, after which every call returns that error.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	msg, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.frame++
	return msg, nil
}

func (r *Reader) fail(code gateway.Code, format string, args ...any) error {
	return ingest.Errorf(code, proto, 0, r.frame, format, args...)
}

func (r *Reader) next() ([]byte, error) {
	// Skip separators between frames.
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, err // io.EOF: clean end
		}
		if c != '\n' && c != '\r' && c != 0 {
			_ = r.br.UnreadByte()
			break
		}
	}
	if n, ok, err := r.octetCount(); err != nil {
		return nil, err
	} else if ok {
		if n > r.max {
			return nil, r.fail(gateway.CodeTooLarge, "octet-counted frame of %d bytes exceeds the limit of %d bytes", n, r.max)
		}
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		if _, err := io.ReadFull(r.br, r.buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, r.fail(gateway.CodeInvalid, "stream ended inside an octet-counted frame of %d bytes", n)
			}
			return nil, err
		}
		return r.buf, nil
	}
	// Non-transparent framing: up to LF.
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(r.buf)+len(chunk) > r.max+2 { // +2: room for a CR LF trailer
			return nil, r.fail(gateway.CodeTooLarge, "frame exceeds the limit of %d bytes", r.max)
		}
		r.buf = append(r.buf, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			// A last message without its LF is still a message.
			break
		}
		return nil, err
	}
	b := r.buf
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	if len(b) > r.max {
		return nil, r.fail(gateway.CodeTooLarge, "frame exceeds the limit of %d bytes", r.max)
	}
	return b, nil
}

// octetCount peeks for "NONZERO-DIGIT *DIGIT SP" and consumes it when found.
func (r *Reader) octetCount() (int, bool, error) {
	const maxDigits = 10
	p, err := r.br.Peek(maxDigits + 1)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, false, err
	}
	if len(p) == 0 || p[0] < '1' || p[0] > '9' {
		return 0, false, nil
	}
	n := 0
	for i, c := range p {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
			if n > 1<<30 {
				return 0, false, nil
			}
		case c == ' ' && i > 0:
			_, _ = r.br.Discard(i + 1)
			return n, true, nil
		default:
			return 0, false, nil
		}
	}
	return 0, false, nil
}
