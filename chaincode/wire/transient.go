package wire

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// TransientAlertsDeflate is the transient-map key that carries RaiseAlerts'
// alerts compressed: the JSON array TransientAlerts would hold, as raw
// DEFLATE (RFC 1951) of any encoder, CompressTransientAlerts' or another.
// RaiseAlerts reads it in preference to TransientAlerts.
//
// Why: the transient map is not in the block, but every endorser still
// handles it several times over: the client's proposal is received over
// TLS, unmarshalled, hashed for each check of its signature, forwarded by
// the organisation's gateway peer to the other endorsers and sent to the
// chaincode, which receives and unmarshals it again. At about 670 bytes
// of JSON per alert (the ingest bench's alerts) these copies were most of
// the bytes a peer handled under ingest load (the set it writes is about
// a fifth of that, compressed), and DEFLATE shrinks it about six-fold. Nothing
// needs this value to be deterministic: the endorsers all receive the
// same bytes, and only what they write must agree.
const TransientAlertsDeflate = "alerts.deflate"

// CompressTransientAlerts returns data, RaiseAlerts' JSON array of alerts,
// compressed for TransientAlertsDeflate (DEFLATE at BestSpeed).
func CompressTransientAlerts(data []byte) ([]byte, error) {
	return deflate("", data)
}

// InflateTransientAlerts returns the JSON array a TransientAlertsDeflate
// value carries. A value that does not inflate, or inflates beyond
// MaxInputBytes (the limit on any input), or has bytes after its final
// block, is a *ValidationError: it is the caller's to fix, like malformed
// JSON (and trailing bytes would let two different values carry the same
// alerts unnoticed).
func InflateTransientAlerts(v []byte) ([]byte, error) {
	out, err := inflateTransient(make([]byte, 0, min(6*len(v)+512, MaxInputBytes+1)), v)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeTransientAlerts returns DecodeAlerts(InflateTransientAlerts(v),
// "alerts"): the same alerts, or the same error. It inflates into a kept
// buffer (DecodeAlerts copies every string it keeps, so the buffer is free
// again once it returns), with a new decompressor (see inflateBufs).
//
// Why: inflating a 1,000-alert transaction allocated an output buffer of
// about 700 KB, grown once or twice, on every endorser: zeroing, copying
// and collecting it and the decompressor was about a third of the
// inflation's cost.
func DecodeTransientAlerts(v []byte) ([]Alert, error) {
	buf := inflateBufs.get()
	in, err := inflateTransient(buf, v)
	if err != nil {
		inflateBufs.put(in)
		return nil, err
	}
	list, err := DecodeAlerts(in, "alerts")
	inflateBufs.put(in)
	return list, err
}

// inflateTransient is InflateTransientAlerts appending to dst[:0].
func inflateTransient(dst, v []byte) ([]byte, error) {
	// A bytes.Reader is an io.ByteReader, so the decompressor reads no
	// byte past the final block and br.Len() is exactly what follows it.
	br := bytes.NewReader(v)
	r := flate.NewReader(br)
	defer r.Close()
	out := bytes.NewBuffer(dst[:0])
	n, err := io.Copy(out, io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return out.Bytes(), &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s does not inflate: %v", TransientAlertsDeflate, err)}
	}
	if n > MaxInputBytes {
		return out.Bytes(), &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s inflates beyond %d bytes", TransientAlertsDeflate, MaxInputBytes)}
	}
	if br.Len() != 0 {
		return out.Bytes(), &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s has %d bytes after its final block", TransientAlertsDeflate, br.Len())}
	}
	return out.Bytes(), nil
}

// inflateBufs keeps idle output buffers, a few, as flateWriters keeps
// compressors (the gateway's largest transaction inflates to about
// 1.4 MB). Decompressors are not kept: klauspost's Reset keeps the last
// stream's Huffman tables, and a dynamic block with an empty distance
// tree then decodes with the previous transaction's distances where a
// fresh decompressor refuses it (TestKeptInflaterLeaksDistanceTree), so
// one endorser's answer would depend on what it decoded before.
var inflateBufs = newBufPool()
