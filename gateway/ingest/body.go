package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// ReadBody reads a request body, undoing its Content-Encoding ("" or
// "identity" for none, "gzip" or "x-gzip"), and returns at most maxBytes of
// decoded data. A body that decodes to more than maxBytes is refused with
// gateway.CodeTooLarge before more than maxBytes+1 bytes are buffered, which is what
// protects the gateway from a small compressed body that inflates to
// gigabytes. An unknown encoding is gateway.CodeUnsupported; corrupt gzip is
// gateway.CodeInvalid. maxBytes <= 0 means DefaultMaxBodyBytes.
func ReadBody(r io.Reader, contentEncoding string, maxBytes int64) ([]byte, error) {
	return ReadBodySized(r, contentEncoding, maxBytes, 0)
}

// ReadBodySized is ReadBody for a body whose size on the wire is declared
// (an HTTP Content-Length; <= 0 when unknown): an unencoded body is read
// into one buffer of that size (capped at maxBytes+1) instead of a buffer
// doubled from 512 bytes, which copied a 1 MB NDJSON request eleven
// times. The declared size is only a first buffer size, never trusted as
// the body's length.
func ReadBodySized(r io.Reader, contentEncoding string, maxBytes, declared int64) ([]byte, error) {
	const proto = "ingest"
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	var hint int64
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		hint = min(max(declared, 0), maxBytes+1)
	case "gzip", "x-gzip":
		// The compressed body is read first (it is small next to what it
		// may decode to) so the decoded size its trailer states can size
		// the buffer: one allocation of the decoded size instead of a
		// doubling buffer that allocates twice as much. A compressed body
		// larger than maxBytes plus deflate's worst-case overhead decodes
		// to more than maxBytes, so refusing it early changes no answer.
		compressed, err := readAll(r, maxBytes+maxBytes/1024+1024, 0)
		if err != nil {
			return nil, readError(proto, err)
		}
		if int64(len(compressed)) > maxBytes+maxBytes/1024+1024 {
			return nil, Errorf(gateway.CodeTooLarge, proto, 0, -1, "body exceeds the limit of %d bytes", maxBytes)
		}
		hint = gzipSizeHint(compressed, maxBytes)
		zr, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, Errorf(gateway.CodeNoData, proto, 0, -1, "empty gzip body")
			}
			return nil, Wrap(gateway.CodeInvalid, proto, 0, -1, "gzip header", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, Errorf(gateway.CodeUnsupported, proto, 0, -1, "content encoding %q is not supported (use gzip or none)", contentEncoding)
	}
	b, err := readAll(r, maxBytes+1, hint)
	if err != nil {
		return nil, readError(proto, err)
	}
	if int64(len(b)) > maxBytes {
		return nil, Errorf(gateway.CodeTooLarge, proto, 0, -1, "body exceeds the limit of %d bytes", maxBytes)
	}
	return b, nil
}

// readAll reads at most limit bytes of r into a buffer first sized hint
// (plus room to see EOF), doubling it when full as bytes.Buffer does but
// with one allocation per growth in every build mode.
func readAll(r io.Reader, limit, hint int64) ([]byte, error) {
	const minRead = 512
	r = io.LimitReader(r, limit)
	b := make([]byte, 0, int(min(max(hint, 0), limit))+minRead)
	for {
		if cap(b)-len(b) < minRead {
			nb := make([]byte, len(b), 2*cap(b)+minRead)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readError classifies a failure to read a (possibly compressed) body.
func readError(proto string, err error) error {
	var ie *Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Wrap(gateway.CodeInvalid, proto, 0, -1, "corrupt compressed body", err)
	}
	// Anything else is the transport failing (client gone, MaxBytesReader
	// tripping); let the caller see the cause.
	return Wrap(gateway.CodeInvalid, proto, 0, -1, "reading body", err)
}

// gzipSizeHint is the decoded size a gzip stream's trailer states (ISIZE,
// the size modulo 2^32 of its last member), capped at maxBytes+1 so a lying
// trailer costs no more than an honest body could; 0 when there is none.
// It is only a first buffer size: the buffer still grows as needed.
func gzipSizeHint(compressed []byte, maxBytes int64) int64 {
	if len(compressed) < 18 { // gzip header (10) + trailer (8)
		return 0
	}
	n := int64(binary.LittleEndian.Uint32(compressed[len(compressed)-4:]))
	return min(n, maxBytes+1)
}
