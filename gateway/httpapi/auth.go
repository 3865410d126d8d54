package httpapi

import (
	"encoding/base64"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// credentials is the configured credentials (gateway.CredentialSet's
// constant-time lookup) with the Authorization-header check the ingest
// protocols and the read API share (authenticate).
type credentials struct{ *gateway.CredentialSet }

func newCredentials(list []gateway.Credential) *credentials {
	return &credentials{gateway.NewCredentialSet(list)}
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	scheme   string // lower case: "splunk", "bearer", "apikey", "basic"
	token    string
	username *string // set for Basic
}

// parseAuthorization splits "Scheme credentials"; Basic credentials are
// decoded into username and token (the password). ok is false when the
// header is absent; a present but unparsable header has scheme "".
func parseAuthorization(h string) (authHeader, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return authHeader{}, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	if !found || rest == "" {
		return authHeader{}, true
	}
	a := authHeader{scheme: strings.ToLower(scheme), token: rest}
	if a.scheme == "basic" {
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return authHeader{}, true
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return authHeader{}, true
		}
		a.username, a.token = &user, pass
	}
	return a, true
}

// authenticate resolves the Authorization header for an endpoint accepting
// the given schemes and needing scope. It returns gateway.CodeUnauthenticated when
// the header is missing, malformed, of another scheme or carries an
// unknown token, and gateway.CodeForbidden for a known credential that is disabled
// or lacks the scope.
func (c *credentials) authenticate(header string, scope gateway.Scope, schemes ...string) (gateway.Credential, *Error) {
	a, present := parseAuthorization(header)
	if !present {
		return gateway.Credential{}, errorf(gateway.CodeUnauthenticated, "missing Authorization header (use "+schemeList(schemes)+")")
	}
	ok := false
	for _, s := range schemes {
		if a.scheme == s {
			ok = true
		}
	}
	if !ok {
		return gateway.Credential{}, errorf(gateway.CodeUnauthenticated, "Authorization header must use "+schemeList(schemes))
	}
	cr, found := c.Lookup(a.token, a.username)
	if !found {
		return gateway.Credential{}, errorf(gateway.CodeUnauthenticated, "invalid credentials")
	}
	if cr.Disabled {
		return gateway.Credential{}, errorf(gateway.CodeForbidden, "credential "+cr.Name+" is disabled")
	}
	if !cr.Has(scope) {
		return gateway.Credential{}, errorf(gateway.CodeForbidden, "credential "+cr.Name+" lacks the "+string(scope)+" scope")
	}
	return cr, nil
}

func schemeList(schemes []string) string {
	names := map[string]string{"splunk": "Splunk", "bearer": "Bearer", "apikey": "ApiKey", "basic": "Basic"}
	out := make([]string, len(schemes))
	for i, s := range schemes {
		out[i] = names[s]
	}
	return strings.Join(out, " or ")
}

// metricsAuth guards GET /metrics when Config.RequireMetricsCredential is
// set: Bearer of a credential with the metrics scope, 401 without a known
// one, 403 for one lacking the scope. Otherwise /metrics stays open, as
// Prometheus exporters usually are.
func (s *Server) metricsAuth(c *gin.Context) {
	if !s.cfg.RequireMetricsCredential {
		return
	}
	if _, e := s.creds.authenticate(c.GetHeader("Authorization"), gateway.ScopeMetrics, "bearer"); e != nil {
		s.fail(c, protoMetrics, e)
	}
}
