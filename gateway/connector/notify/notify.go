// Package notify is the notification connector: it posts the action's
// message to a chat-style incoming webhook (Slack, Mattermost and Teams
// accept {"text": …}) or, with no URL configured, writes one structured
// log line, so a notify policy works out of the box.
//
// Guarantees: the post carries the Idempotency-Key header; failures are
// *connector.Error classified like every connector's.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// DefaultBody is the body template when none is configured.
const DefaultBody = `{"channel": {{json .Params.channel}}, "text": {{json (print "[ledgerguard] " .Params.message " (response " .Request.ResponseID ")")}}}`

// Connector posts or logs notifications.
type Connector struct {
	call   *connector.Call
	client *http.Client
	logger *slog.Logger
}

type options struct {
	client *http.Client
	logger *slog.Logger
	lookup func(string) (string, bool)
}

// Option configures New.
type Option func(*options) error

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("notify: nil HTTP client")
		}
		o.client = c
		return nil
	}
}

// WithLogger sets the logger used when no URL is configured (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("notify: nil logger")
		}
		o.logger = l
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

// New builds the connector.
func New(cfg connector.NotifyConfig, opts ...Option) (*Connector, error) {
	o := options{client: &http.Client{}, logger: slog.Default()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Connector{client: o.client, logger: o.logger}
	if cfg.URL == "" {
		return c, nil
	}
	body := cfg.Body
	if body == "" {
		body = DefaultBody
	}
	call, err := connector.CompileCall(wire.ActionNotify, connector.HTTPCall{URL: cfg.URL, Method: http.MethodPost, Headers: cfg.Headers, Body: body}, o.lookup)
	if err != nil {
		return nil, err
	}
	c.call = call
	return c, nil
}

// Execute posts the notification, or logs it when no URL is configured.
func (c *Connector) Execute(ctx context.Context, action wire.Action, req connector.Request) (string, error) {
	if c.call == nil {
		c.logger.InfoContext(ctx, "ledgerguard notification",
			"channel", action.Params["channel"], "message", action.Params["message"],
			"response_id", req.ResponseID, "alert_id", req.AlertID, "batch_id", req.BatchID, "tx_id", req.TxID)
		return "logged to channel " + action.Params["channel"], nil
	}
	return c.call.Do(ctx, c.client, wire.ActionNotify, connector.Data(action, req))
}
