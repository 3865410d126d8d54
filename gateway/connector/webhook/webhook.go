// Package webhook is the signed-webhook connector: it POSTs a JSON
// envelope describing the action and its ledger references to the URL the
// action names, signed the way Stripe and GitHub sign webhooks, so the
// receiver can check that ledgerguard sent it and that it is fresh.
//
// The signature header is
//
//	X-Ledgerguard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// Signing the timestamp with the body lets a receiver refuse replays older
// than its tolerance ([Verify] does both checks in constant time). The
// body also carries the idempotency key, which the Idempotency-Key header
// repeats, so a receiver dedupes retries.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// SignatureHeader is the header carrying the signature.
const SignatureHeader = "X-Ledgerguard-Signature"

// Envelope is the JSON body the connector sends.
type Envelope struct {
	// ID is the idempotency key: stable across retries and restarts.
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	CreatedAt string            `json:"createdAt"`
	Action    wire.Action       `json:"action"`
	Request   connector.Request `json:"request"`
	// Body is the action's optional body parameter, verbatim.
	Body string `json:"body,omitempty"`
}

// EnvelopeType is Envelope.Type.
const EnvelopeType = "ledgerguard.response.action"

// Connector sends signed webhooks.
type Connector struct {
	secret   []byte
	prefixes []string
	header   http.Header
	client   *http.Client
	now      func() time.Time
}

type options struct {
	client *http.Client
	now    func() time.Time
	lookup func(string) (string, bool)
}

// Option configures New.
type Option func(*options) error

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("webhook: nil HTTP client")
		}
		o.client = c
		return nil
	}
}

// WithClock sets the clock used for the signature timestamp.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("webhook: nil clock")
		}
		o.now = now
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

// MinSecretLen is the shortest secret accepted: 16 bytes.
const MinSecretLen = 16

// New builds the connector. The secret is required and must be at least
// MinSecretLen bytes after ${VAR} expansion.
func New(cfg connector.WebhookConfig, opts ...Option) (*Connector, error) {
	o := options{client: &http.Client{}, now: time.Now}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	secret, err := connector.ExpandEnv(cfg.Secret, o.lookup)
	if err != nil {
		return nil, fmt.Errorf("webhook.secret: %w", err)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: webhook.secret must be at least %d bytes", connector.ErrConfig, MinSecretLen)
	}
	for _, p := range cfg.AllowedURLPrefixes {
		if err := connector.CheckURL(p); err != nil {
			return nil, fmt.Errorf("%w: webhook.allowed_url_prefixes: %v", connector.ErrConfig, err)
		}
	}
	h, err := connector.ExpandHeaders(cfg.Headers, o.lookup)
	if err != nil {
		return nil, fmt.Errorf("webhook.headers: %w", err)
	}
	return &Connector{secret: []byte(secret), prefixes: cfg.AllowedURLPrefixes, header: h, client: o.client, now: o.now}, nil
}

// Execute POSTs the signed envelope to the action's url parameter.
func (c *Connector) Execute(ctx context.Context, action wire.Action, req connector.Request) (string, error) {
	const name = wire.ActionWebhook
	u := action.Params["url"]
	if err := connector.CheckURL(u); err != nil {
		return "", connector.Permanent(name, err)
	}
	if !c.allowed(u) {
		return "", connector.Permanent(name, fmt.Errorf("url %q is not under an allowed prefix", u))
	}
	now := c.now()
	body, err := json.Marshal(Envelope{
		ID: req.IdempotencyKey, Type: EnvelopeType, CreatedAt: now.UTC().Format(time.RFC3339),
		Action: action, Request: req, Body: action.Params["body"],
	})
	if err != nil {
		return "", connector.Permanent(name, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", connector.Permanent(name, err)
	}
	for k, v := range c.header {
		hr.Header[k] = v
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(connector.IdempotencyHeader, req.IdempotencyKey)
	hr.Header.Set(SignatureHeader, Sign(c.secret, now, body))
	ans, err := connector.Send(ctx, c.client, name, hr)
	if err != nil {
		return "", err
	}
	return connector.Detail(ans, ""), nil
}

func (c *Connector) allowed(u string) bool {
	if len(c.prefixes) == 0 {
		return true
	}
	for _, p := range c.prefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// Sign returns the signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Signature verification failures.
var (
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	ErrBadSignature       = errors.New("webhook: signature does not match")
	ErrStaleSignature     = errors.New("webhook: signature timestamp outside tolerance")
)

// Verify checks a signature header for body as a receiver should: the
// header parses, some v1 value equals the HMAC in constant time, and the
// timestamp is within tolerance of now (0 disables the time check).
func Verify(secret []byte, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformedSignature
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformedSignature
	}
	want := []byte(mac(secret, ts, body))
	match := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			match = true
		}
	}
	if !match {
		return ErrBadSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrStaleSignature
		}
	}
	return nil
}
