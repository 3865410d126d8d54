// Package provenance decides which detection models a gateway in strict
// mode may serve: exactly the model versions registered on the ledger's
// "models" contract and approved by the consortium, with the same file
// sha256 and feature spec hash, and not revoked.
//
// A Checker keeps the last view of the ledger it read (Refresh reads every
// page of ListModels) and answers Check from it without blocking; Run
// refreshes on an interval and reports when the view changed, so the
// caller reloads its models and a revocation unloads a model within one
// interval. It depends only on the Ledger interface, not on Fabric.
// Registration builds the record a model directory is registered with, so
// what is registered and what is checked hash the same way.
//
// Guarantees: Check fails closed — before the first successful Refresh
// nothing is allowed, and a model the ledger does not hold, holds with
// another sha256 or feature spec, has not approved yet or has revoked is
// refused with a *RefusedError saying which. A failed Refresh keeps the
// previous view (a ledger outage neither loads nor unloads anything) and
// is returned to the caller. Each model's decision is logged once when it
// changes, not at every check.
package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

// Ledger reads model registrations: one page of the models contract's
// ListModels. The Fabric adapter implements it; tests use a fake.
type Ledger interface {
	ListModels(ctx context.Context, filter wire.ModelFilter, pageSize int32, bookmark string) (wire.Page[wire.ModelRecord], error)
}

// Model identifies a model version as a gateway would serve it: from its
// manifest, whose sha256 the model file was verified against.
type Model struct {
	Name           string
	Version        string
	SHA256         string
	FeaturesSHA256 string
}

// String names the model as name@version.
func (m Model) String() string { return m.Name + "@" + m.Version }

// Reason says why a model is refused.
type Reason string

// The reasons a model is refused.
const (
	// NotRead: the ledger has not been read successfully yet.
	NotRead Reason = "ledger not read yet"
	// Unregistered: no registration of this name and version.
	Unregistered Reason = "not registered on the ledger"
	// HashMismatch: registered with another model sha256.
	HashMismatch Reason = "model sha256 differs from the registration"
	// FeaturesMismatch: registered with another feature spec hash.
	FeaturesMismatch Reason = "feature spec differs from the registration"
	// Pending: registered but not yet approved by the quorum.
	Pending Reason = "awaiting approval"
	// Revoked: revoked on the ledger.
	Revoked Reason = "revoked on the ledger"
)

// RefusedError is Check's refusal of a model. Detail adds what the ledger
// says (the registered hash, the approvals so far, the revocation reason).
type RefusedError struct {
	Model  Model
	Reason Reason
	Detail string
}

// Error implements error.
func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("model %s (sha256 %s): %s", e.Model, e.Model.SHA256, e.Reason)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// FeaturesSHA256 returns the hash a registration records for a manifest's
// feature spec: the lowercase hex SHA-256 of the spec's canonical JSON,
// that is encoding/json of the features.Spec value (fields in declaration
// order, map keys sorted, numbers in shortest form), so the registering
// CLI and the gateway compute it identically from the same manifest.
func FeaturesSHA256(spec features.Spec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("provenance: encode feature spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Option configures New.
type Option func(*Checker) error

// WithLogger sets where decisions and refresh failures are logged
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *Checker) error {
		if l == nil {
			return errors.New("provenance: WithLogger needs a logger")
		}
		c.log = l
		return nil
	}
}

// WithPageSize sets the ListModels page size (1..wire.MaxPageSize,
// default 200).
func WithPageSize(n int32) Option {
	return func(c *Checker) error {
		if n < 1 || n > wire.MaxPageSize {
			return fmt.Errorf("provenance: page size %d must be 1..%d", n, wire.MaxPageSize)
		}
		c.pageSize = n
		return nil
	}
}

// maxPages bounds one Refresh against a ledger that keeps returning
// bookmarks.
const maxPages = 10_000

// Checker answers whether a model may be served, from its last view of
// the ledger. Safe for concurrent use.
type Checker struct {
	ledger   Ledger
	log      *slog.Logger
	pageSize int32

	view atomic.Pointer[view] // nil until the first successful Refresh

	mu      sync.Mutex
	decided map[Model]string // last logged decision: "" allowed, else the reason
}

type view struct {
	byRef  map[string]wire.ModelRecord // name@version
	digest string                      // what Refresh compares to detect a change
}

// New returns a Checker reading l. It has read nothing yet: call Refresh.
func New(l Ledger, opts ...Option) (*Checker, error) {
	if l == nil {
		return nil, errors.New("provenance: a ledger is required")
	}
	c := &Checker{ledger: l, log: slog.Default(), pageSize: 200, decided: map[Model]string{}}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Refresh reads every registration from the ledger and, if that
// succeeds, replaces the view. It reports whether the view changed (the
// first successful read always does). On error the previous view stays.
func (c *Checker) Refresh(ctx context.Context) (bool, error) {
	byRef := map[string]wire.ModelRecord{}
	bookmark := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return false, fmt.Errorf("provenance: ListModels still returned a bookmark after %d pages", maxPages)
		}
		p, err := c.ledger.ListModels(ctx, wire.ModelFilter{}, c.pageSize, bookmark)
		if err != nil {
			return false, fmt.Errorf("provenance: read model registrations: %w", err)
		}
		for _, r := range p.Records {
			byRef[r.Name+"@"+r.Version] = r
		}
		if p.Bookmark == "" {
			break
		}
		if p.Bookmark == bookmark {
			return false, fmt.Errorf("provenance: ListModels returned the same bookmark twice")
		}
		bookmark = p.Bookmark
	}
	next := &view{byRef: byRef, digest: digest(byRef)}
	prev := c.view.Swap(next)
	return prev == nil || prev.digest != next.digest, nil
}

// digest summarises what Check depends on, in a fixed order.
func digest(byRef map[string]wire.ModelRecord) string {
	refs := make([]string, 0, len(byRef))
	for ref, r := range byRef {
		refs = append(refs, fmt.Sprintf("%s|%s|%s|%s|%d", ref, r.State, r.SHA256, r.FeaturesSHA256, len(r.Approvals)))
	}
	slices.Sort(refs)
	return strings.Join(refs, "\n")
}

// Loaded reports whether a Refresh has succeeded.
func (c *Checker) Loaded() bool { return c.view.Load() != nil }

// Check returns nil if m may be served, else a *RefusedError. It logs the
// decision when it differs from the last one for m.
func (c *Checker) Check(m Model) error {
	err := c.decide(m)
	c.logDecision(m, err)
	return err
}

func (c *Checker) decide(m Model) error {
	v := c.view.Load()
	if v == nil {
		return &RefusedError{Model: m, Reason: NotRead}
	}
	r, ok := v.byRef[m.Name+"@"+m.Version]
	switch {
	case !ok:
		return &RefusedError{Model: m, Reason: Unregistered, Detail: "register it with `ledgerguard models register` and have the member admins approve it"}
	case r.SHA256 != m.SHA256:
		return &RefusedError{Model: m, Reason: HashMismatch, Detail: "registered sha256 " + r.SHA256}
	case r.FeaturesSHA256 != m.FeaturesSHA256:
		return &RefusedError{Model: m, Reason: FeaturesMismatch, Detail: "registered feature spec sha256 " + r.FeaturesSHA256 + ", manifest's " + m.FeaturesSHA256}
	case r.State == wire.ModelRevoked:
		return &RefusedError{Model: m, Reason: Revoked, Detail: fmt.Sprintf("by %s: %s", actorMSP(r.RevokedBy), r.RevokeReason)}
	case r.State != wire.ModelApproved:
		return &RefusedError{Model: m, Reason: Pending, Detail: fmt.Sprintf("%d of %d approvals", len(r.Approvals), r.Quorum)}
	}
	return nil
}

func actorMSP(a *wire.Actor) string {
	if a == nil {
		return "?"
	}
	return a.MSP
}

func (c *Checker) logDecision(m Model, err error) {
	now := ""
	var re *RefusedError
	if errors.As(err, &re) {
		now = string(re.Reason) + re.Detail
	}
	c.mu.Lock()
	last, seen := c.decided[m]
	c.decided[m] = now
	c.mu.Unlock()
	if seen && last == now {
		return
	}
	if re != nil {
		c.log.Warn("model not served: "+string(re.Reason), "model", m.Name, "version", m.Version, "sha256", m.SHA256,
			"reason", string(re.Reason), "detail", re.Detail)
		return
	}
	c.log.Info("model approved on the ledger", "model", m.Name, "version", m.Version, "sha256", m.SHA256)
}

// Run calls Refresh every interval until ctx ends, and onChange after each
// Refresh that changed the view (the caller reloads its models, which asks
// Check again). A failed Refresh is logged and the previous view kept.
func (c *Checker) Run(ctx context.Context, interval time.Duration, onChange func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := c.Refresh(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("reading model approvals from the ledger failed; keeping the last known approvals", "err", err)
			continue
		}
		if changed && onChange != nil {
			onChange(ctx)
		}
	}
}
