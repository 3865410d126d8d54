// Package rest is the connector for REST-style security tools: an EDR's
// host isolation (and its release), an identity provider's MFA challenge,
// an incident platform's case creation (TheHive, PagerDuty), a firewall's
// block list. One configurable templated HTTP call (URL, method, headers
// with ${VAR} credentials, body) per action and optionally one for its
// rollback, so a new vendor needs configuration, not code.
//
// Guarantees: every call carries the Idempotency-Key header; failures are
// *connector.Error classified as retryable (network, timeouts, 408, 425,
// 429, 5xx) or permanent (other 4xx, rendering errors); a connector
// without a rollback call does not implement Rollback's effect and says so
// with a permanent error.
package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// Connector performs an action (and its rollback) as a REST call.
type Connector struct {
	name     string
	client   *http.Client
	call     *connector.Call
	rollback *connector.Call
}

type options struct {
	client *http.Client
	lookup func(string) (string, bool)
}

// Option configures New.
type Option func(*options) error

// WithHTTPClient sets the HTTP client (default: a client without an
// overall timeout; the responder bounds each attempt with its context).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("rest: nil HTTP client")
		}
		o.client = c
		return nil
	}
}

// WithLookupEnv sets how ${VAR} references resolve (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) error {
		o.lookup = f
		return nil
	}
}

// New builds the connector for action type name (used in errors and
// details) from cfg.
func New(name string, cfg connector.RESTConfig, opts ...Option) (*Connector, error) {
	o := options{client: &http.Client{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	call, err := connector.CompileCall(name, cfg.HTTPCall, o.lookup)
	if err != nil {
		return nil, err
	}
	c := &Connector{name: name, client: o.client, call: call}
	if cfg.Rollback != nil {
		if c.rollback, err = connector.CompileCall(name+".rollback", *cfg.Rollback, o.lookup); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Execute performs the action's call.
func (c *Connector) Execute(ctx context.Context, action wire.Action, req connector.Request) (string, error) {
	return c.call.Do(ctx, c.client, c.name, connector.Data(action, req))
}

// HasRollback reports whether a rollback call is configured.
func (c *Connector) HasRollback() bool { return c.rollback != nil }

// Rollback performs the rollback call, or fails permanently when none is
// configured.
func (c *Connector) Rollback(ctx context.Context, action wire.Action, req connector.Request) (string, error) {
	if c.rollback == nil {
		return "", connector.Permanent(c.name, fmt.Errorf("no rollback call configured for %s", c.name))
	}
	return c.rollback.Do(ctx, c.client, c.name+".rollback", connector.Data(action, req))
}
