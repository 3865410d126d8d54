package ingest

import (
	"bytes"
	"compress/gzip"
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
	const proto = "ingest"
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
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
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1))
	if err != nil {
		var ie *Error
		if errors.As(err, &ie) {
			return nil, err
		}
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, Wrap(gateway.CodeInvalid, proto, 0, -1, "corrupt compressed body", err)
		}
		// Anything else is the transport failing (client gone, MaxBytesReader
		// tripping); let the caller see the cause.
		return nil, Wrap(gateway.CodeInvalid, proto, 0, -1, "reading body", err)
	}
	if n > maxBytes {
		return nil, Errorf(gateway.CodeTooLarge, proto, 0, -1, "body exceeds the limit of %d bytes", maxBytes)
	}
	return buf.Bytes(), nil
}
