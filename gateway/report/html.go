package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"join": func(s []string) string {
		if len(s) == 0 {
			return "—"
		}
		return strings.Join(s, ", ")
	},
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"score": func(f float64) string { return fmt.Sprintf("%.3f", f) },
	"blockNo": func(b *uint64) string {
		if b == nil {
			return "—"
		}
		return fmt.Sprint(*b)
	},
}).Parse(htmlTemplate))

// RenderHTML renders the printable report from the report's JSON bytes
// (as Encode wrote them): a self-contained page, styles inline, no script
// and no external asset, with a print stylesheet. Rendering from the bytes,
// not from a Report value, keeps the HTML a pure view of the signed JSON.
func RenderHTML(reportJSON []byte) ([]byte, error) {
	r, err := Decode(reportJSON)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("report: render HTML: %w", err)
	}
	return b.Bytes(), nil
}
