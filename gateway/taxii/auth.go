package taxii

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// credentials looks tokens up in constant time: each configured token is
// kept as its SHA-256 digest and a presented token's digest is compared
// with every one without stopping at a match (as the HTTP API does), so
// timing leaks neither which credential matched nor the token's length.
type credentials struct {
	list    []gateway.Credential
	digests [][32]byte
}

func newCredentials(list []gateway.Credential) *credentials {
	c := &credentials{list: list, digests: make([][32]byte, len(list))}
	for i, cr := range list {
		c.digests[i] = sha256.Sum256([]byte(cr.Token))
	}
	return c
}

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
	d := sha256.Sum256([]byte(tok))
	found := -1
	for i := range s.creds.digests {
		if subtle.ConstantTimeCompare(d[:], s.creds.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return unauth("invalid credentials")
	}
	cr := s.creds.list[found]
	if user != nil && (cr.Username == "" || subtle.ConstantTimeCompare([]byte(*user), []byte(cr.Username)) != 1) {
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
