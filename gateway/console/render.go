package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// pageNames are the templates under templates/ besides layout.html.
var pageNames = []string{"login", "error", "overview", "alerts", "alert", "responses", "policies", "policy", "evidence", "job", "report"}

var funcs = template.FuncMap{
	"when": func(v any) string {
		switch t := v.(type) {
		case wire.Time:
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		case time.Time:
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		return fmt.Sprint(v)
	},
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:12] + "…"
		}
		return s
	},
	"join": strings.Join,
	"actor": func(a *wire.Actor) string {
		if a == nil {
			return ""
		}
		return a.MSP + " " + a.Subject
	},
	"percent": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		p := n * 100 / total
		if p > 100 {
			p = 100
		}
		return p
	},
}

func parsePages() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Nav     string
	User    string
	Analyst bool
	CSRF    string
	// Flash is a one-line outcome of the action that led here.
	Flash string
	// Problem is set on error pages.
	Problem *problem
	Data    any
}

type problem struct {
	Status  int
	Title   string
	Message string
}

// render writes page name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name, nav, title string, data any) {
	v := view{Title: title, Nav: nav, Data: data, Flash: r.URL.Query().Get("done")}
	if s != nil {
		v.User, v.Analyst, v.CSRF = s.name, s.analyst, s.csrf
	}
	c.write(w, status, name, v)
}

func (c *Console) write(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail writes an error page: what went wrong, and that nothing changed.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	v := view{Title: title, Problem: &problem{Status: status, Title: title, Message: msg}}
	if s != nil {
		v.User, v.Analyst, v.CSRF = s.name, s.analyst, s.csrf
	}
	c.write(w, status, "error", v)
}

// link builds a console URL with query parameters (empty values dropped).
func link(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
