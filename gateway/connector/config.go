package connector

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Config selects the connector for one action type and configures it:
// exactly one of its fields is set. The responder's configuration maps
// each action type (isolate_host, mfa_challenge, open_incident, block_ip,
// notify, webhook) to one Config.
type Config struct {
	Webhook *WebhookConfig `yaml:"webhook,omitempty" json:"webhook,omitempty"`
	REST    *RESTConfig    `yaml:"rest,omitempty" json:"rest,omitempty"`
	Notify  *NotifyConfig  `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// Kind returns the name of the one connector set ("webhook", "rest",
// "notify"), or an error naming the problem when none or several are.
func (c Config) Kind() (string, error) {
	var kinds []string
	if c.Webhook != nil {
		kinds = append(kinds, "webhook")
	}
	if c.REST != nil {
		kinds = append(kinds, "rest")
	}
	if c.Notify != nil {
		kinds = append(kinds, "notify")
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("set exactly one of webhook, rest, notify (got %d: %s)", len(kinds), strings.Join(kinds, ", "))
	}
	return kinds[0], nil
}

// HTTPCall describes one templated HTTP request. URL and Body are Go
// text/template templates over [TemplateData] (e.g. `{{urlquery
// .Params.host}}`, `{{json .Request.ResponseID}}`); header values and the
// URL may hold ${VAR} references to environment variables, expanded once
// when the connector is built.
type HTTPCall struct {
	// URL is required: http:// or https:// after rendering.
	URL string `yaml:"url" json:"url"`
	// Method defaults to POST.
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// Headers are sent as given (e.g. Authorization: "Bearer ${EDR_TOKEN}").
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is the request body template; empty sends no body.
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
	// ContentType defaults to application/json when Body is set.
	ContentType string `yaml:"content_type,omitempty" json:"content_type,omitempty"`
	// DetailField names a value of the JSON answer, as a dotted path
	// (e.g. "id" or "data.caseId"), to report on the ledger with the
	// status, so the outcome links to the receiver's record.
	DetailField string `yaml:"detail_field,omitempty" json:"detail_field,omitempty"`
}

// RESTConfig configures a REST-style connector (EDR host isolation,
// identity-provider MFA challenge, incident creation, firewall block).
// Rollback, when set, is the call that undoes the action.
type RESTConfig struct {
	HTTPCall `yaml:",inline" json:",inline"`
	Rollback *HTTPCall `yaml:"rollback,omitempty" json:"rollback,omitempty"`
}

// WebhookConfig configures the signed webhook connector: the URL comes
// from the action's url parameter, the body is a JSON envelope signed with
// Secret (see package webhook).
type WebhookConfig struct {
	// Secret is the HMAC-SHA256 key (required; use ${VAR}).
	Secret string `yaml:"secret" json:"-"`
	// AllowedURLPrefixes, when set, limits the URLs a policy may name.
	AllowedURLPrefixes []string `yaml:"allowed_url_prefixes,omitempty" json:"allowed_url_prefixes,omitempty"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// NotifyConfig configures the notify connector: a chat-style webhook
// (Slack, Mattermost, Teams incoming webhooks take {"text": ...}) when URL
// is set, else only a structured log line.
type NotifyConfig struct {
	URL     string            `yaml:"url,omitempty" json:"url,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is a template; the default is {"channel": …, "text": …}.
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
}

// ErrConfig marks a connector configuration that cannot be used.
var ErrConfig = errors.New("connector config")

// envRef matches ${NAME}. $NAME alone is left as is, so a literal $ in a
// body or URL needs no escaping.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ExpandEnv replaces every ${NAME} in s with the value lookup returns
// (os.LookupEnv when lookup is nil). An unset variable is an error wrapping
// ErrConfig that names it, so a missing credential fails at start-up
// rather than as a 401 at the first incident.
func ExpandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := envRef.FindStringSubmatch(m)[1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: environment variable %s is not set", ErrConfig, strings.Join(missing, ", "))
	}
	return out, nil
}

// ExpandHeaders expands ${VAR} in every header value and checks names.
func ExpandHeaders(h map[string]string, lookup func(string) (string, bool)) (http.Header, error) {
	out := make(http.Header, len(h))
	for k, v := range h {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return nil, fmt.Errorf("%w: header name %q is invalid", ErrConfig, k)
		}
		ev, err := ExpandEnv(v, lookup)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", k, err)
		}
		if strings.ContainsAny(ev, "\r\n") {
			return nil, fmt.Errorf("%w: header %s holds a line break", ErrConfig, k)
		}
		out.Set(k, ev)
	}
	return out, nil
}

// CheckURL reports whether u is an absolute http(s) URL.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("url %q: %w", u, err)
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("url %q must be absolute http:// or https://", u)
	}
	return nil
}
