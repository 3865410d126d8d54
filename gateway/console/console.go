package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console"

// Cookie names.
const (
	sessionCookie = "lg_console"
	loginCookie   = "lg_console_login" // pre-session CSRF token of the sign-in form
)

// csp is the Content-Security-Policy of every answer: nothing but the
// gateway's own origin, no inline script or style, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Deps is what the console reads and acts on. Ledger and Credentials are
// required; the rest may be nil (the view then says it is not available).
type Deps struct {
	// Ledger is the ledger as the console's configured identity.
	Ledger Ledger
	// Blocks finds the block of a transaction (history entries, anchors).
	Blocks BlockFinder
	// Store is this gateway's event log (cited events and their proofs).
	Store EventStore
	// Stats samples the gateway's counters for the overview's charts.
	Stats func() Sample
	// Ready is the gateway's readiness.
	Ready Readiness
	// Models lists the models the gateway serves (nil: detection off).
	Models func() []gateway.ModelRef
	// Online, when set, lets a verification also compare the bundle with
	// the live ledger (evidence.WithOnline).
	Online evidence.OnlineSource
	// Reports, when set, lets people produce signed compliance reports
	// from the Evidence view (nil: the form says to use the CLI).
	Reports *Reports
	// Credentials are the gateway's credentials; people sign in with one
	// holding the read or analyst scope.
	Credentials []gateway.Credential
	// GatewayMSP and GatewayID name this gateway (the evidence view's
	// default filter).
	GatewayMSP, GatewayID string
	// TempDir holds uploaded bundles while they are verified ("" = the
	// system's).
	TempDir string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Console serves /console/. Create it with New, serve it as an
// http.Handler, and run Run for its background work (sampling, job and
// session expiry).
type Console struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	jobs     *jobs
	samples  *sampler
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New builds the console over cfg (validated, defaults applied) and deps.
func New(cfg Config, deps Deps) (*Console, error) {
	if deps.Ledger == nil {
		return nil, errors.New("console: Deps.Ledger is required")
	}
	c := &Console{cfg: cfg, deps: deps, log: deps.Logger, now: deps.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.cfg.ApplyDefaults()
	if err := c.cfg.Validate(); err != nil {
		return nil, err
	}
	c.sessions = newSessions(c.cfg.SessionTTL, c.cfg.MaxSessions, c.now)
	c.jobs = newJobs(c.cfg.MaxJobs, deps.TempDir, c.now)
	c.samples = newSampler(time.Hour, c.cfg.SampleInterval)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.mux = c.routes()
	return c, nil
}

// Run samples the counters and expires old jobs until ctx ends.
func (c *Console) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.SampleInterval)
	defer t.Stop()
	c.sample()
	for {
		select {
		case <-ctx.Done():
			c.jobs.closeAll()
			return nil
		case <-t.C:
			c.sample()
			c.jobs.expire(time.Hour)
		}
	}
}

func (c *Console) sample() {
	if c.deps.Stats == nil {
		return
	}
	s := c.deps.Stats()
	if s.At.IsZero() {
		s.At = c.now()
	}
	c.samples.add(s)
}

// ServeHTTP serves the console with its security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		fileServer.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET "+Prefix+"/login", c.loginForm)
	m.HandleFunc("POST "+Prefix+"/login", c.login)
	m.HandleFunc("POST "+Prefix+"/logout", c.post(c.logout, false))
	m.HandleFunc("GET "+Prefix+"/{$}", c.get(c.overview))
	m.HandleFunc("GET "+Prefix+"/alerts", c.get(c.alerts))
	m.HandleFunc("GET "+Prefix+"/alerts/{batch}/{alert}", c.get(c.alertDetail))
	m.HandleFunc("POST "+Prefix+"/alerts/{batch}/{alert}/status", c.post(c.alertStatus, true))
	m.HandleFunc("GET "+Prefix+"/responses", c.get(c.responses))
	m.HandleFunc("POST "+Prefix+"/responses/{id}/approve", c.post(c.approveResponse, true))
	m.HandleFunc("GET "+Prefix+"/policies", c.get(c.policies))
	m.HandleFunc("GET "+Prefix+"/policies/{id}/{version}", c.get(c.policyDetail))
	m.HandleFunc("GET "+Prefix+"/evidence", c.get(c.evidence))
	m.HandleFunc("POST "+Prefix+"/evidence/verify", c.postUpload(c.verify))
	m.HandleFunc("GET "+Prefix+"/evidence/jobs/{id}", c.get(c.job))
	m.HandleFunc("GET "+Prefix+"/evidence/jobs/{id}/status", c.get(c.jobStatus))
	m.HandleFunc("POST "+Prefix+"/evidence/report", c.post(c.startReport, false))
	m.HandleFunc("GET "+Prefix+"/evidence/reports/{id}", c.get(c.reportPage))
	m.HandleFunc("GET "+Prefix+"/evidence/reports/{id}/status", c.get(c.reportStatus))
	m.HandleFunc("GET "+Prefix+"/evidence/reports/{id}/files/{ext}", c.get(c.reportFile))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, http.StatusNotFound, "Not found", "There is no console page at "+r.URL.Path+".")
	})
	return m
}

// handler is a view or action of a signed-in person.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// session returns the request's session, or writes why there is none: a
// GET without a cookie is sent to the sign-in page; an unknown (forged)
// or expired session cookie gets a 401 page (and is cleared).
func (c *Console) session(w http.ResponseWriter, r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/status") {
			http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		c.fail(w, r, nil, http.StatusUnauthorized, "Not signed in", "Sign in first: this action needs a session.")
		return nil
	}
	s, why := c.sessions.get(ck.Value)
	if s != nil {
		return s
	}
	c.clearCookie(w, sessionCookie)
	msg := "Your session is not known to this gateway (it was forged, ended by a sign-out, or the gateway restarted). Sign in again."
	if why == sessionExpired {
		msg = "Your session has expired. Sign in again."
	}
	c.fail(w, r, nil, http.StatusUnauthorized, "Session not valid", msg)
	return nil
}

// get wraps a view that needs a session.
func (c *Console) get(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s := c.session(w, r); s != nil {
			h(w, r, s)
		}
	}
}

// post wraps a state change: a session, its CSRF token, and (analyst)
// the analyst scope. Nothing is done unless all hold.
func (c *Console) post(h handler, analyst bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(w, r)
		if s == nil {
			return
		}
		if !tokenEqual(csrfOf(r), s.csrf) {
			c.csrfFail(w, r, s)
			return
		}
		if analyst && !s.analyst {
			c.fail(w, r, s, http.StatusForbidden, "Not allowed: read-only credential",
				"You signed in with credential "+s.name+", which has the read scope only. Acknowledging or resolving alerts and approving responses needs a credential with the analyst scope. Nothing was changed.")
			return
		}
		h(w, r, s)
	}
}

// csrfOf returns the request's CSRF token: the X-CSRF-Token header
// (scripts) or the form field csrf. Multipart uploads are checked by their
// handler, which reads the csrf part before the file (postUpload).
func csrfOf(r *http.Request) string {
	if v := r.Header.Get("X-CSRF-Token"); v != "" {
		return v
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return ""
	}
	return r.PostFormValue("csrf")
}

// postUpload wraps a multipart upload: a session; the handler checks the
// CSRF token from the form's first part before it reads the file.
func (c *Console) postUpload(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s := c.session(w, r); s != nil {
			h(w, r, s)
		}
	}
}

// csrfFail is the answer to a state change without the session's token.
func (c *Console) csrfFail(w http.ResponseWriter, r *http.Request, s *session) {
	c.fail(w, r, s, http.StatusForbidden, "Request refused: CSRF token missing or wrong",
		"The form did not carry this session's CSRF token, so nothing was changed. Reload the page and try again.")
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix + "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.cfg.SecureCookie != nil && *c.cfg.SecureCookie})
}

func (c *Console) clearCookie(w http.ResponseWriter, name string) { c.setCookie(w, name, "", -1) }

// ctx bounds one ledger call of a page.
func (c *Console) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), c.cfg.LedgerTimeout)
}

// ledgerAnswer describes a ledger error for a page: status, title, text.
func ledgerAnswer(err error) (int, string, string) {
	var rej *gateway.LedgerRejectedError
	if errors.As(err, &rej) {
		tx := ""
		if rej.TxID != "" {
			tx = " (transaction " + rej.TxID + ")"
		}
		switch rej.Code {
		case wire.CodeDenied:
			return http.StatusForbidden, "DENIED by the ledger", "The ledger refused " + rej.Op + tx + ": " + string(rej.Code) + ": " + rej.Reason
		case wire.CodeNotFound:
			return http.StatusNotFound, "Not found on the ledger", rej.Reason
		case wire.CodeInvalid:
			return http.StatusBadRequest, "The ledger rejected the request", string(rej.Code) + ": " + rej.Reason
		case wire.CodeState, wire.CodeConflict:
			return http.StatusConflict, "The ledger rejected the change", string(rej.Code) + ": " + rej.Reason
		}
		return http.StatusBadGateway, "The ledger rejected the request", string(rej.Code) + ": " + rej.Reason + tx
	}
	if errors.Is(err, gateway.ErrLedgerUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, "Ledger unavailable", err.Error() + ". Try again later."
	}
	return http.StatusBadGateway, "Ledger error", err.Error()
}

// ledgerFail renders a ledger error as the page's answer.
func (c *Console) ledgerFail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	st, title, msg := ledgerAnswer(err)
	c.fail(w, r, s, st, title, msg)
}
