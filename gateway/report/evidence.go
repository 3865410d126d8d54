package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// CheckBundle verifies the evidence bundle in r offline, exactly as
// 'ledgerguard verify' does (evidence.Verify), and reads where the bundle
// says each batch was anchored (transaction and block). source says where
// the bundle came from and name is its file name, both recorded as given.
// The verdict is set by Assemble, which also compares the bundle's batches
// with the ledger's. An error means the bundle could not be read at all
// (not that it failed to verify: that is a finding).
func CheckBundle(ctx context.Context, r io.ReadSeeker, source, name string) (*Evidence, error) {
	h := sha256.New()
	rep, err := evidence.Verify(ctx, io.TeeReader(r, h))
	if err != nil {
		return nil, fmt.Errorf("report: verify bundle: %w", err)
	}
	// Verify may stop reading before the end of a damaged bundle: hash the
	// rest so the digest is of the whole file.
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("report: read bundle: %w", err)
	}
	e := &Evidence{
		Source: source, Bundle: name, BundleSHA256: hex.EncodeToString(h.Sum(nil)),
		Events: rep.Events, Batches: rep.Batches, Transactions: rep.Transactions, Endorsements: rep.Endorsements,
		TrustedCAs: []TrustedCA{}, Findings: []string{}, Anchors: []Anchor{},
	}
	for _, o := range rep.Orgs {
		for _, fp := range o.Fingerprints {
			e.TrustedCAs = append(e.TrustedCAs, TrustedCA{MSP: o.MSPID, SHA256: fp})
		}
	}
	for _, f := range rep.Findings {
		e.Findings = append(e.Findings, f.String())
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("report: rewind bundle: %w", err)
	}
	dec, err := evidence.NewDecoder(r)
	if err != nil {
		// Verify already recorded why the bundle is unreadable.
		return e, nil
	}
	for {
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var de *evidence.DecodeError
		if errors.As(err, &de) {
			continue // a finding of Verify's already
		}
		if err != nil {
			break
		}
		if rec.Batch != nil {
			e.Anchors = append(e.Anchors, Anchor{BatchID: rec.Batch.Batch.ID, TxID: rec.Batch.Transaction.TxID, Block: rec.Batch.Transaction.Block})
		}
	}
	return e, nil
}

// Encode returns the report's JSON: indented, HTML characters unescaped
// (conditions hold && and <), ending in a newline. These bytes are what is
// signed.
func (r *Report) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("report: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Decode parses a report's JSON, refusing unknown fields and other
// formats, so what is rendered is exactly what was signed.
func Decode(b []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: decode: %w", err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("report: decode: format %d, this version reads %d", r.Format, Format)
	}
	return &r, nil
}
