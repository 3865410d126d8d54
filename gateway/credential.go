package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
)

// Scope is what a credential may do.
type Scope string

// The scopes a credential can hold: one per ingest protocol, read for the
// proof API and the console, metrics for GET /metrics when it requires a
// credential, and analyst for the console's state changes (acknowledge or
// resolve an alert, approve a response; the ledger still decides); intel
// reads the TAXII server's collections (threat intelligence, AMBER
// included, so kept apart from read) and intel-share shares through it.
const (
	ScopeHEC           Scope = "hec"
	ScopeElasticsearch Scope = "elasticsearch"
	ScopeOTLP          Scope = "otlp"
	ScopeNDJSON        Scope = "ndjson"
	ScopeRead          Scope = "read"
	ScopeMetrics       Scope = "metrics"
	ScopeAnalyst       Scope = "analyst"
	ScopeIntel         Scope = "intel"
	ScopeIntelShare    Scope = "intel-share"
)

// Scopes lists every valid scope.
var Scopes = []Scope{ScopeHEC, ScopeElasticsearch, ScopeOTLP, ScopeNDJSON, ScopeRead, ScopeMetrics, ScopeAnalyst, ScopeIntel, ScopeIntelShare}

// Credential is one client's secret and what it maps to. The configuration
// decodes it (hence the YAML names); the HTTP adapter authenticates with it.
type Credential struct {
	// Name identifies the credential in logs and metrics; it is the default
	// event source when Source is empty.
	Name string `yaml:"name"`
	// Token is the secret: "Authorization: Splunk <token>" (HEC), "Bearer
	// <token>" (OTLP, NDJSON, read, metrics), "ApiKey <token>" (Elasticsearch; the
	// base64 id:key a client sends) or the password of Basic auth.
	Token string `yaml:"token"`
	// Username enables HTTP Basic auth (username:token) for Elasticsearch
	// and HEC clients that only speak Basic.
	Username string `yaml:"username"`
	// Scopes says which endpoints the credential may use.
	Scopes []Scope `yaml:"scopes"`
	// Source, Sourcetype: defaults stamped on the events it sends.
	Source     string `yaml:"source"`
	Sourcetype string `yaml:"sourcetype"`
	// Indexes are the indexes it may write; the first is the default. Empty
	// allows any index and sets none by default.
	Indexes []string `yaml:"indexes"`
	// Ack enables HEC indexer acknowledgement for this token.
	Ack bool `yaml:"ack"`
	// Disabled keeps the credential known but refused (HEC code 1).
	Disabled bool `yaml:"disabled"`
}

// Has reports whether the credential holds scope s.
func (c Credential) Has(s Scope) bool { return slices.Contains(c.Scopes, s) }

// AnyHas reports whether an enabled credential of list holds scope s: the
// one test of "someone can use s" for the configuration's checks and the
// HTTP adapter's routes.
func AnyHas(list []Credential, s Scope) bool {
	return slices.ContainsFunc(list, func(c Credential) bool { return !c.Disabled && c.Has(s) })
}

// DefaultIndex is the first allowed index, "" when any is allowed.
func (c Credential) DefaultIndex() string {
	if len(c.Indexes) == 0 {
		return ""
	}
	return c.Indexes[0]
}

// IndexAllowed reports whether the credential may write index ("" is
// always allowed: it means the default).
func (c Credential) IndexAllowed(index string) bool {
	return index == "" || len(c.Indexes) == 0 || slices.Contains(c.Indexes, index)
}

// EventSource is the source stamped on its events.
func (c Credential) EventSource() string {
	if c.Source != "" {
		return c.Source
	}
	return c.Name
}

// CredentialSet looks tokens up in constant time: each configured token
// is kept as its SHA-256 digest, and a presented token's digest is
// compared by crypto/subtle with every one without stopping at a match,
// so timing leaks neither which credential matched nor the token's
// length. Every listener that takes tokens (the HTTP API, TAXII) uses it.
type CredentialSet struct {
	list    []Credential
	digests [][32]byte
}

// NewCredentialSet digests list's tokens once.
func NewCredentialSet(list []Credential) *CredentialSet {
	c := &CredentialSet{list: list, digests: make([][32]byte, len(list))}
	for i, cr := range list {
		c.digests[i] = sha256.Sum256([]byte(cr.Token))
	}
	return c
}

// Lookup returns the credential whose token is tok. When username is
// non-nil (HTTP Basic) the credential must also have that username.
func (c *CredentialSet) Lookup(tok string, username *string) (Credential, bool) {
	d := sha256.Sum256([]byte(tok))
	found := -1
	for i := range c.digests {
		if subtle.ConstantTimeCompare(d[:], c.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, false
	}
	cr := c.list[found]
	if username != nil && (cr.Username == "" || subtle.ConstantTimeCompare([]byte(*username), []byte(cr.Username)) != 1) {
		return Credential{}, false
	}
	return cr, true
}
