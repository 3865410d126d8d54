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
	// A bytes.Reader is an io.ByteReader, so the decompressor reads no
	// byte past the final block and br.Len() is exactly what follows it.
	br := bytes.NewReader(v)
	r := flate.NewReader(br)
	defer r.Close()
	out := bytes.NewBuffer(make([]byte, 0, min(6*len(v)+512, MaxInputBytes+1)))
	n, err := io.Copy(out, io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s does not inflate: %v", TransientAlertsDeflate, err)}
	}
	if n > MaxInputBytes {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s inflates beyond %d bytes", TransientAlertsDeflate, MaxInputBytes)}
	}
	if br.Len() != 0 {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s has %d bytes after its final block", TransientAlertsDeflate, br.Len())}
	}
	return out.Bytes(), nil
}
