package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"text/template"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TemplateData is what URL and body templates see: the action's resolved
// parameters, its type and the ledger context. A parameter the action
// lacks renders as "" (e.g. an optional reason).
type TemplateData struct {
	Action  string
	Params  map[string]string
	Request Request
	Alert   *wire.Alert
}

// Template is a parsed URL or body template, safe for concurrent use.
// Besides text/template's built-ins (urlquery, js, html, print...) it
// offers json, which encodes any value as JSON (a string becomes a quoted,
// escaped JSON string), so bodies are built without injection, and
// pathescape (url.PathEscape) for URL path segments.
type Template struct {
	t *template.Template
}

// ParseTemplate parses text; name labels errors (e.g. "isolate_host.body").
func ParseTemplate(name, text string) (*Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"pathescape": url.PathEscape,
	}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: template %s: %v", ErrConfig, name, err)
	}
	return &Template{t: t}, nil
}

// Render executes the template. A failure is permanent: the same data
// would fail again.
func (t *Template) Render(connector string, d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.t.Execute(&b, d); err != nil {
		return "", Permanent(connector, fmt.Errorf("render %s: %w", t.t.Name(), err))
	}
	return b.String(), nil
}

// Data returns the template data for an action and request.
func Data(action wire.Action, req Request) TemplateData {
	params := action.Params
	if params == nil {
		params = map[string]string{}
	}
	return TemplateData{Action: action.Type, Params: params, Request: req, Alert: req.Alert}
}
