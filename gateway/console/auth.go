package console

import (
	"net/http"
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

type loginData struct {
	Next    string
	Token   string // the sign-in form's CSRF token
	Problem string
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix + "/"
	}
	return next
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	c.setCookie(w, loginCookie, tok, 600)
	c.render(w, r, nil, http.StatusOK, "login", "", "Sign in", loginData{Next: safeNext(r.URL.Query().Get("next")), Token: tok})
}

// login signs in with a gateway credential's token. The form must carry
// the token of its own pre-session cookie (no login CSRF).
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), ck.Value) {
		c.fail(w, r, nil, http.StatusForbidden, "Request refused: CSRF token missing or wrong",
			"The sign-in form was not the one this gateway gave out (or it is older than ten minutes). Open the sign-in page again.")
		return
	}
	next := safeNext(r.PostFormValue("next"))
	cred, ok := c.credential(r.PostFormValue("token"))
	if !ok {
		tok := randomToken()
		c.setCookie(w, loginCookie, tok, 600)
		c.render(w, r, nil, http.StatusUnauthorized, "login", "", "Sign in", loginData{Next: next, Token: tok,
			Problem: "That token is not a credential of this gateway with the read or analyst scope (or it is disabled)."})
		return
	}
	s := c.sessions.create(cred)
	c.clearCookie(w, loginCookie)
	c.setCookie(w, sessionCookie, s.id, int(c.cfg.SessionTTL.Seconds()))
	c.log.Info("console: signed in", "credential", cred.Name, "analyst", s.analyst)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// credential finds the enabled credential with token that may use the
// console, comparing every token in constant time.
func (c *Console) credential(token string) (gateway.Credential, bool) {
	var found gateway.Credential
	ok := false
	for _, cr := range c.deps.Credentials {
		if tokenEqual(token, cr.Token) && !ok {
			found, ok = cr, true
		}
	}
	if !ok || found.Disabled || !(found.Has(gateway.ScopeRead) || found.Has(gateway.ScopeAnalyst)) {
		return gateway.Credential{}, false
	}
	return found, true
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s.id)
	c.clearCookie(w, sessionCookie)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}
