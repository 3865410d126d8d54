package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// Reading a bundle as a dataset: the training pipeline may learn from
// events exported from the ledger, but only from a bundle that verifies.

// ErrNotVerified is wrapped by *NotVerifiedError.
var ErrNotVerified = errors.New("bundle does not verify")

// NotVerifiedError reports that Verify found problems, so no event of the
// bundle was read. Report holds the findings.
type NotVerifiedError struct{ Report *Report }

func (e *NotVerifiedError) Error() string {
	return fmt.Sprintf("evidence: %v: %d problems", ErrNotVerified, len(e.Report.Findings))
}

// Unwrap returns ErrNotVerified.
func (e *NotVerifiedError) Unwrap() error { return ErrNotVerified }

// ErrChanged reports a bundle whose bytes differ between the verifying
// pass and the reading pass (the file was modified meanwhile).
var ErrChanged = errors.New("bundle changed while it was read")

// Verified describes a bundle VerifiedEvents read.
type Verified struct {
	// Report is Verify's report (no findings).
	Report *Report
	// SHA256 is the lowercase hex SHA-256 of the bundle's bytes as read
	// (compressed or not): the identity of the training data.
	SHA256 string
	// Events counts the events passed to the callback.
	Events int
}

// VerifiedEvents verifies the bundle in r exactly as Verify does (opts are
// Verify's options, e.g. WithOnline) and, only when the report has no
// findings, reads it a second time from the same start and calls fn with
// each event decoded from its canonical bytes (the Merkle leaf, decoded as
// the gateway's store decodes it: numbers in Fields as json.Number), in
// bundle order. A verified bundle lists the events of each batch in seq
// order and its batches in log order, so fn sees the events in the order
// the gateway scored them.
//
// r must be positioned at the bundle's first byte. Errors:
//   - *NotVerifiedError (errors.Is ErrNotVerified) when Verify reports any
//     finding: fn was not called;
//   - Verify's own errors (unreadable header, read failure, ctx, online
//     source), before fn is called;
//   - an error wrapping ErrChanged when the second pass reads other bytes
//     than the first; this may be detected only at the end, after fn was
//     called, so callers must discard what fn produced on any error;
//   - a *DecodeError for an event whose canonical bytes are not an Event,
//     and fn's own error, returned as is.
func VerifiedEvents(ctx context.Context, r io.ReadSeeker, fn func(ev gateway.Event) error, opts ...VerifyOption) (*Verified, error) {
	return VerifiedLeaves(ctx, r, func(ev gateway.Event, _ string) error { return fn(ev) }, opts...)
}

// VerifiedLeaves is VerifiedEvents that also gives fn each event's leaf
// hash (hex, RFC 6962, of its stored canonical bytes): the EventHash an
// alert on the ledger cites, so verdicts on alerts can be joined to the
// bundle's events without trusting anything but the verified bytes.
func VerifiedLeaves(ctx context.Context, r io.ReadSeeker, fn func(ev gateway.Event, leafHash string) error, opts ...VerifyOption) (*Verified, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	h1 := sha256.New()
	rep, err := Verify(ctx, io.TeeReader(r, h1), opts...)
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return nil, &NotVerifiedError{Report: rep}
	}
	if err := drain(r, h1); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h1.Sum(nil))

	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("evidence: bundle: %w", err)
	}
	h2 := sha256.New()
	dec, err := NewDecoder(io.TeeReader(r, h2))
	if err != nil {
		return nil, fmt.Errorf("evidence: %w: %w", ErrChanged, err)
	}
	v := &Verified{Report: rep, SHA256: sum}
	for {
		if v.Events%ProgressEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The first pass read every line cleanly.
			return nil, fmt.Errorf("evidence: %w: %w", ErrChanged, err)
		}
		if rec.Event == nil {
			continue
		}
		ev, err := DecodeEvent(rec.Event.Canonical)
		if err != nil {
			return nil, &DecodeError{Line: rec.Line, Err: fmt.Errorf("event %s: %w", rec.Event.ID, err)}
		}
		if err := fn(ev, hex.EncodeToString(merkle.LeafHash(rec.Event.Canonical))); err != nil {
			return nil, err
		}
		v.Events++
	}
	if err := drain(r, h2); err != nil {
		return nil, err
	}
	if got := hex.EncodeToString(h2.Sum(nil)); got != sum {
		return nil, fmt.Errorf("evidence: %w: sha256 %s when verified, %s when read", ErrChanged, sum, got)
	}
	return v, nil
}

// drain hashes whatever the decoder left unread (trailing bytes).
func drain(r io.Reader, h hash.Hash) error {
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("evidence: read bundle: %w", err)
	}
	return nil
}

// DecodeEvent decodes an event's canonical bytes as the gateway's store
// does: numbers in Fields become json.Number, and nothing may follow the
// object.
func DecodeEvent(canonical []byte) (gateway.Event, error) {
	var ev gateway.Event
	d := json.NewDecoder(bytes.NewReader(canonical))
	d.UseNumber()
	if err := d.Decode(&ev); err != nil {
		return gateway.Event{}, err
	}
	if d.More() {
		return gateway.Event{}, errors.New("trailing data after the event")
	}
	return ev, nil
}

// Features verifies the bundle in r and computes, with eng, the feature
// vector of every event applies accepts (nil accepts all), in the order
// VerifiedEvents gives them: what live scoring does (gateway/onnx's
// Model.Detect checks Applies, then Extract, window features seeing the
// events in log order). eng keeps its window state; pass a freshly
// compiled (or Reset) engine. fn gets the event and its vector, which is
// reused between calls. Errors are VerifiedEvents'.
func Features(ctx context.Context, r io.ReadSeeker, eng *features.Engine, applies func(*gateway.Event) bool, fn func(ev *gateway.Event, vec []float32) error, opts ...VerifyOption) (*Verified, error) {
	return FeatureLeaves(ctx, r, eng, applies, func(ev *gateway.Event, _ string, vec []float32) error { return fn(ev, vec) }, opts...)
}

// FeatureLeaves is Features that also gives fn the event's leaf hash (as
// VerifiedLeaves does).
func FeatureLeaves(ctx context.Context, r io.ReadSeeker, eng *features.Engine, applies func(*gateway.Event) bool, fn func(ev *gateway.Event, leafHash string, vec []float32) error, opts ...VerifyOption) (*Verified, error) {
	if eng == nil {
		return nil, errors.New("evidence: Features: nil engine")
	}
	vec := make([]float32, eng.Width())
	return VerifiedLeaves(ctx, r, func(ev gateway.Event, leafHash string) error {
		if applies != nil && !applies(&ev) {
			return nil
		}
		eng.Extract(&ev, vec)
		return fn(&ev, leafHash, vec)
	}, opts...)
}
