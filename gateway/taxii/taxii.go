package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// Prefix is where the server is mounted: the discovery endpoint.
const Prefix = "/taxii2"

// Media types of TAXII 2.1 and STIX 2.1.
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaSTIX  = "application/stix+json;version=2.1"
)

// Source is where the served objects come from: the organisation's intel
// catalog (*intel.Catalog implements it).
type Source interface {
	// Scan calls fn for each version in g after position `after` and
	// added after addedAfter (zero: unbounded), in ledger order, until fn
	// returns false.
	Scan(ctx context.Context, g intel.Group, after intel.Position, addedAfter time.Time, fn func(intel.Object) bool) error
	// Versions returns every version of a STIX id in g, in ledger order.
	Versions(ctx context.Context, g intel.Group, stixID string) ([]intel.Object, error)
}

// ObjectRef names one STIX object version in a status resource.
type ObjectRef struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
	Message string `json:"message,omitempty"`
}

// PublishResult is what a Publisher shared: the indicators now on the
// ledger, and the objects of the envelope that were only context (an
// identity, a marking definition, a relationship) and are not stored.
type PublishResult struct {
	Shared  []ObjectRef
	Context []ObjectRef
	TxIDs   []string
}

// Publisher shares the STIX objects of an envelope POSTed to collection g,
// all or nothing, and returns once the ledger committed them. Errors that
// are the envelope's fault implement gateway.Coder with CodeInvalid (or
// are *InvalidObjectError); ledger errors are gateway's typed ledger
// errors.
type Publisher interface {
	Publish(ctx context.Context, g intel.Group, objects []json.RawMessage) (PublishResult, error)
}

// InvalidObjectError is an envelope object a Publisher refused; nothing of
// the envelope was shared.
type InvalidObjectError struct {
	ObjectID string
	Err      error
}

func (e *InvalidObjectError) Error() string {
	if e.ObjectID == "" {
		return e.Err.Error()
	}
	return e.ObjectID + ": " + e.Err.Error()
}

func (e *InvalidObjectError) Unwrap() error { return e.Err }

// ErrorCode makes it a client error.
func (e *InvalidObjectError) ErrorCode() gateway.Code { return gateway.CodeInvalid }

// Config is the server's settings (the configuration's taxii: section).
type Config struct {
	// Enabled mounts the server.
	Enabled bool `yaml:"enabled"`
	// Title is the discovery and API root title (default "ledgerguard").
	Title string `yaml:"title"`
	// APIRoot is the API root's path segment (default "ledgerguard").
	APIRoot string `yaml:"api_root"`
	// DefaultLimit is the page size when a request names none (default 100).
	DefaultLimit int `yaml:"default_limit"`
	// MaxLimit caps limit (default 1000): a larger limit gets MaxLimit objects.
	MaxLimit int `yaml:"max_limit"`
	// MaxContentLength bounds a POST body in bytes (default 10 MiB).
	MaxContentLength int64 `yaml:"max_content_length"`
	// MaxStatuses is how many status resources are kept (default 1024).
	MaxStatuses int `yaml:"max_statuses"`
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Title == "" {
		c.Title = "ledgerguard"
	}
	if c.APIRoot == "" {
		c.APIRoot = "ledgerguard"
	}
	if c.DefaultLimit <= 0 {
		c.DefaultLimit = 100
	}
	if c.MaxLimit <= 0 {
		c.MaxLimit = 1000
	}
	if c.DefaultLimit > c.MaxLimit {
		c.DefaultLimit = c.MaxLimit
	}
	if c.MaxContentLength <= 0 {
		c.MaxContentLength = 10 << 20
	}
	if c.MaxStatuses <= 0 {
		c.MaxStatuses = 1024
	}
	return c
}

// Validate checks the settings.
func (c Config) Validate() error {
	if strings.ContainsAny(c.APIRoot, "/?#% ") {
		return errors.New("taxii.api_root must be one path segment")
	}
	return nil
}

// Deps are what the server reads and writes through.
type Deps struct {
	// Source is required.
	Source Source
	// Publisher shares POSTed envelopes; nil makes every collection
	// read-only (POST is a 403).
	Publisher Publisher
	// Credentials are the gateway's; GET needs gateway.ScopeIntel, POST
	// gateway.ScopeIntelShare.
	Credentials []gateway.Credential
	// Org is the organisation's MSP id, shown in titles.
	Org string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger (nil: slog.Default()).
	Logger *slog.Logger
}

// Server is the TAXII 2.1 server; it is an http.Handler for Prefix+"/".
type Server struct {
	cfg    Config
	deps   Deps
	creds  *gateway.CredentialSet
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	status *statuses
}

// New builds the server.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Source == nil {
		return nil, errors.New("taxii: Source is required")
	}
	s := &Server{cfg: cfg, deps: deps, creds: gateway.NewCredentialSet(deps.Credentials), now: deps.Now, log: deps.Logger, status: newStatuses(cfg.MaxStatuses)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	root := Prefix + "/" + cfg.APIRoot
	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"/{$}", s.read(false, s.discovery))
	m.HandleFunc("GET "+root+"/{$}", s.read(false, s.apiRoot))
	m.HandleFunc("GET "+root+"/status/{status}/{$}", s.read(false, s.getStatus))
	m.HandleFunc("GET "+root+"/collections/{$}", s.read(false, s.collections))
	m.HandleFunc("GET "+root+"/collections/{coll}/{$}", s.read(false, s.collection))
	m.HandleFunc("GET "+root+"/collections/{coll}/objects/{$}", s.read(true, s.getObjects))
	m.HandleFunc("POST "+root+"/collections/{coll}/objects/{$}", s.postObjects)
	m.HandleFunc("GET "+root+"/collections/{coll}/objects/{obj}/{$}", s.read(true, s.getObject))
	m.HandleFunc("GET "+root+"/collections/{coll}/objects/{obj}/versions/{$}", s.read(false, s.getVersions))
	m.HandleFunc("GET "+root+"/collections/{coll}/manifest/{$}", s.read(false, s.getManifest))
	s.mux = m
	return s, nil
}

// ServeHTTP serves TAXII requests. Paths without their trailing slash are
// served as if they had it (TAXII URLs end in "/"); unknown paths and
// methods get a TAXII error message.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path += "/"
		r2.URL.RawPath = ""
		r = r2
	}
	// ServeMux's own 404/405 are plain text; TAXII clients expect an
	// error message resource.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		if _, p := s.mux.Handler(withMethod(r, http.MethodGet)); p != "" {
			writeError(w, &apiError{http.StatusMethodNotAllowed, "method not allowed", r.Method + " is not allowed on " + r.URL.Path})
			return
		}
		writeError(w, &apiError{http.StatusNotFound, "not found", "no TAXII resource at " + r.URL.Path})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func withMethod(r *http.Request, m string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Method = m
	return r2
}

// read wraps a GET handler with authentication (intel scope) and the
// Accept check; objects says whether STIX's media type is acceptable too.
func (s *Server) read(objects bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.authenticate(r, gateway.ScopeIntel); e != nil {
			writeError(w, e)
			return
		}
		if e := checkAccept(r.Header.Get("Accept"), objects); e != nil {
			writeError(w, e)
			return
		}
		h(w, r)
	}
}

// group resolves a collection id to its group.
func (s *Server) group(w http.ResponseWriter, r *http.Request) (intel.Group, bool) {
	id := r.PathValue("coll")
	for _, g := range intel.Groups {
		if CollectionID(g) == id {
			return g, true
		}
	}
	writeError(w, &apiError{http.StatusNotFound, "unknown collection", "no collection " + id + " (GET the collections endpoint for their ids)"})
	return "", false
}

// writeJSON writes a TAXII response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{http.StatusInternalServerError, "internal error", "encoding the response failed"})
		return
	}
	w.Header().Set("Content-Type", MediaTAXII)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// DecodeConfig decodes the configuration's taxii: section with decode
// (config.Section.Decode: unknown fields refused), fills the defaults and
// validates it.
func DecodeConfig(decode func(any) error) (Config, error) {
	var c Config
	if err := decode(&c); err != nil {
		return Config{}, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
