package connector

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Call is a compiled [HTTPCall]: environment expanded, templates parsed.
type Call struct {
	name        string
	method      string
	url         *Template
	body        *Template
	hasBody     bool
	header      http.Header
	contentType string
	detailField string
}

// CompileCall checks and compiles c. name labels errors (e.g.
// "isolate_host.rollback"); lookup resolves ${VAR} (nil: os.LookupEnv).
func CompileCall(name string, c HTTPCall, lookup func(string) (string, bool)) (*Call, error) {
	if c.URL == "" {
		return nil, fmt.Errorf("%w: %s.url is required", ErrConfig, name)
	}
	rawURL, err := ExpandEnv(c.URL, lookup)
	if err != nil {
		return nil, fmt.Errorf("%s.url: %w", name, err)
	}
	u, err := ParseTemplate(name+".url", rawURL)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(c.Method)
	if method == "" {
		method = http.MethodPost
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, fmt.Errorf("%w: %s.method %q must be GET, POST, PUT, PATCH or DELETE", ErrConfig, name, c.Method)
	}
	h, err := ExpandHeaders(c.Headers, lookup)
	if err != nil {
		return nil, fmt.Errorf("%s.headers: %w", name, err)
	}
	call := &Call{name: name, method: method, url: u, header: h, contentType: c.ContentType, detailField: c.DetailField}
	if c.Body != "" {
		if call.body, err = ParseTemplate(name+".body", c.Body); err != nil {
			return nil, err
		}
		call.hasBody = true
		if call.contentType == "" {
			call.contentType = "application/json"
		}
	}
	return call, nil
}

// Do renders the call for d and sends it with the request's idempotency
// key. It returns the success detail (see [Detail]) or an *Error.
func (c *Call) Do(ctx context.Context, client *http.Client, connector string, d TemplateData) (string, error) {
	u, err := c.url.Render(connector, d)
	if err != nil {
		return "", err
	}
	if err := CheckURL(u); err != nil {
		return "", Permanent(connector, err)
	}
	var body string
	if c.hasBody {
		if body, err = c.body.Render(connector, d); err != nil {
			return "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, strings.NewReader(body))
	if err != nil {
		return "", Permanent(connector, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.hasBody {
		req.Header.Set("Content-Type", c.contentType)
	}
	req.Header.Set(IdempotencyHeader, d.Request.IdempotencyKey)
	req.Header.Set("X-Ledgerguard-Response-Id", d.Request.ResponseID)
	ans, err := Send(ctx, client, connector, req)
	if err != nil {
		return "", err
	}
	return Detail(ans, c.detailField), nil
}
