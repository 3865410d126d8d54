package taxii

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// authenticate checks the Authorization header (Basic username:token or
// Bearer token) for scope: 401 when missing or unknown, 403 when the
// credential is disabled or lacks the scope.
func (s *Server) authenticate(r *http.Request, scope gateway.Scope) *apiError {
	unauth := func(d string) *apiError { return &apiError{http.StatusUnauthorized, "unauthorized", d} }
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return unauth("missing Authorization header (use Basic username:token or Bearer token)")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	var user *string
	tok := rest
	switch strings.ToLower(scheme) {
	case "bearer":
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return unauth("Basic credentials are not base64")
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return unauth("Basic credentials must be username:token")
		}
		user, tok = &u, p
	default:
		return unauth("Authorization must use Basic or Bearer")
	}
	if tok == "" {
		return unauth("empty token")
	}
	cr, ok := s.creds.Lookup(tok, user)
	if !ok {
		return unauth("invalid credentials")
	}
	if cr.Disabled {
		return &apiError{http.StatusForbidden, "forbidden", "credential " + cr.Name + " is disabled"}
	}
	if !cr.Has(scope) {
		return &apiError{http.StatusForbidden, "forbidden", "credential " + cr.Name + " lacks the " + string(scope) + " scope"}
	}
	return nil
}
