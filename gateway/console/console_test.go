package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestViewsRenderWithSecurityHeaders(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(readTok)
	a := testAlert(0)
	for _, tc := range []struct{ path, want string }{
		{Prefix + "/", "Events in per minute"},
		{Prefix + "/", "nsl-kdd-flow"},
		{Prefix + "/", "Org2MSP (CN=Admin)"},
		{Prefix + "/alerts?status=open&severity=high&category=T1499&model=nsl-kdd-flow&host=web-01", a.ID[:12]},
		{Prefix + "/alerts/" + a.BatchID + "/" + a.ID, a.Detector.SHA256},
		{Prefix + "/alerts/" + a.BatchID + "/" + a.ID, a.RaisedTx},
		{Prefix + "/responses?state=awaiting-approval", "resp-1"},
		{Prefix + "/policies?state=active", `alert.severity == &#34;high&#34;`},
		{Prefix + "/policies?state=active", "bookmark=next-policy"},
		{Prefix + "/policies/p1/1", "tx-p"},
		{Prefix + "/evidence", "tx-anchor"},
	} {
		st, body, hdr := b.get(tc.path)
		if st != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, st, body)
			continue
		}
		if !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: page lacks %q", tc.path, tc.want)
		}
		if got := hdr.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'self'") || strings.Contains(got, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
			t.Errorf("GET %s: inline script or style in the page", tc.path)
		}
	}
	// The read-only credential sees no approve button, the analyst does.
	if _, body, _ := b.get(Prefix + "/responses"); strings.Contains(body, `class="approve"`) {
		t.Error("read-only session is offered an approve button")
	}
	if _, body, _ := h.signIn(analystTok).get(Prefix + "/responses"); !strings.Contains(body, `class="approve"`) {
		t.Error("analyst session is not offered an approve button")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		cfg := Config{}
		cfg.DefaultSecure(secure)
		h := newHarness(t, cfg)
		b := h.browser()
		b.get(Prefix + "/login")
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+Prefix+"/login", strings.NewReader(url.Values{"csrf": {b.csrf}, "token": {readTok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, ck := range b.client.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var got *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				got = ck
			}
		}
		if got == nil {
			t.Fatalf("secure=%t: no session cookie (status %d)", secure, resp.StatusCode)
		}
		if !got.HttpOnly || got.SameSite != http.SameSiteStrictMode || got.Secure != secure || got.Path != Prefix+"/" {
			t.Errorf("secure=%t: cookie %+v, want HttpOnly, SameSite=Strict, Secure=%t, Path=/console/", secure, got, secure)
		}
	}
}

// TestBadInputChangesNothing: every kind of bad request gets a clear 4xx
// page and no transaction is submitted, no job started.
func TestBadInputChangesNothing(t *testing.T) {
	a := testAlert(0)
	statusPath := Prefix + "/alerts/" + a.BatchID + "/" + a.ID + "/status"
	for _, tc := range []struct {
		name   string
		run    func(h *harness) (int, string)
		status int
		want   string
	}{
		{"no session", func(h *harness) (int, string) {
			st, body, _ := h.browser().post(statusPath, url.Values{"status": {"acknowledged"}})
			return st, body
		}, http.StatusUnauthorized, "Sign in first"},
		{"forged session", func(h *harness) (int, string) {
			b := h.browser()
			u, _ := url.Parse(h.srv.URL + Prefix + "/")
			b.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: randomToken(), Path: Prefix + "/"}})
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}, "csrf": {"x"}})
			return st, body
		}, http.StatusUnauthorized, "not known to this gateway"},
		{"forged session on a view", func(h *harness) (int, string) {
			b := h.browser()
			u, _ := url.Parse(h.srv.URL + Prefix + "/")
			b.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "forged", Path: Prefix + "/"}})
			st, body, _ := b.get(Prefix + "/alerts")
			return st, body
		}, http.StatusUnauthorized, "not known to this gateway"},
		{"expired session", func(h *harness) (int, string) {
			b := h.signIn(analystTok)
			h.clock.add(9 * time.Hour)
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}, "csrf": {b.csrf}})
			return st, body
		}, http.StatusUnauthorized, "expired"},
		{"missing CSRF token", func(h *harness) (int, string) {
			b := h.signIn(analystTok)
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}})
			return st, body
		}, http.StatusForbidden, "CSRF"},
		{"wrong CSRF token", func(h *harness) (int, string) {
			b := h.signIn(analystTok)
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}, "csrf": {randomToken()}})
			return st, body
		}, http.StatusForbidden, "CSRF"},
		{"another session's CSRF token", func(h *harness) (int, string) {
			other := h.signIn(analystTok)
			b := h.signIn(analystTok)
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}, "csrf": {other.csrf}})
			return st, body
		}, http.StatusForbidden, "CSRF"},
		{"read-only acknowledges", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.post(statusPath, url.Values{"status": {"acknowledged"}, "csrf": {b.csrf}})
			return st, body
		}, http.StatusForbidden, "read scope only"},
		{"read-only approves", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.post(Prefix+"/responses/resp-1/approve", url.Values{"csrf": {b.csrf}})
			return st, body
		}, http.StatusForbidden, "read scope only"},
		{"unknown status", func(h *harness) (int, string) {
			b := h.signIn(analystTok)
			st, body, _ := b.post(statusPath, url.Values{"status": {"deleted"}, "csrf": {b.csrf}})
			return st, body
		}, http.StatusBadRequest, "not an alert status"},
		{"malformed bundle", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.upload(b.csrf, []byte("this is not a bundle\n"))
			return st, body
		}, http.StatusBadRequest, "not an evidence bundle"},
		{"empty bundle", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.upload(b.csrf, nil)
			return st, body
		}, http.StatusBadRequest, "empty"},
		{"oversized bundle", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.upload(b.csrf, bytes.Repeat([]byte("x"), 4096))
			return st, body
		}, http.StatusRequestEntityTooLarge, "larger than this console accepts"},
		{"upload without CSRF token", func(h *harness) (int, string) {
			b := h.signIn(readTok)
			st, body, _ := b.upload("", testBundle(t))
			return st, body
		}, http.StatusForbidden, "CSRF"},
		{"sign-in without its form token", func(h *harness) (int, string) {
			st, body, _ := h.browser().post(Prefix+"/login", url.Values{"token": {analystTok}})
			return st, body
		}, http.StatusForbidden, "CSRF"},
		{"sign-in with an ingest-only token", func(h *harness) (int, string) {
			b := h.browser()
			b.get(Prefix + "/login")
			st, body, _ := b.post(Prefix+"/login", url.Values{"token": {hecTok}, "csrf": {b.csrf}})
			return st, body
		}, http.StatusUnauthorized, "not a credential of this gateway"},
		{"unknown page", func(h *harness) (int, string) {
			st, body, _ := h.signIn(readTok).get(Prefix + "/nope")
			return st, body
		}, http.StatusNotFound, "no console page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{MaxBundleBytes: 2048})
			got, body := tc.run(h)
			if got != tc.status {
				t.Errorf("status: got %d, want %d\n%s", got, tc.status, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("page lacks %q:\n%s", tc.want, body)
			}
			if n := h.ledger.submitCount(); n != 0 {
				t.Errorf("%d transactions submitted, want none", n)
			}
			h.c.jobs.mu.Lock()
			jobs := len(h.c.jobs.byID)
			h.c.jobs.mu.Unlock()
			if jobs != 0 {
				t.Errorf("%d verification jobs started, want none", jobs)
			}
		})
	}
}

func TestNoCookieOnAViewRedirectsToSignIn(t *testing.T) {
	h := newHarness(t, Config{})
	st, _, hdr := h.browser().get(Prefix + "/alerts?status=open")
	if st != http.StatusSeeOther || hdr.Get("Location") != Prefix+"/login?next="+url.QueryEscape(Prefix+"/alerts?status=open") {
		t.Fatalf("got %d %q", st, hdr.Get("Location"))
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(readTok)
	if st, _, _ := b.post(Prefix+"/logout", url.Values{"csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := b.get(Prefix + "/alerts"); st != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d, want a redirect to sign in", st)
	}
}

func TestAnalystActionsSubmitToTheLedger(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(analystTok)
	a := testAlert(0)
	st, _, hdr := b.post(Prefix+"/alerts/"+a.BatchID+"/"+a.ID+"/status", url.Values{"status": {"acknowledged"}, "reason": {"looking"}, "csrf": {b.csrf}})
	if st != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), Prefix+"/alerts/"+a.BatchID+"/"+a.ID) {
		t.Fatalf("acknowledge: %d %s", st, hdr.Get("Location"))
	}
	st, _, _ = b.post(Prefix+"/responses/resp-1/approve", url.Values{"csrf": {b.csrf}})
	if st != http.StatusSeeOther {
		t.Fatalf("approve: %d", st)
	}
	got := h.ledger.submits
	want := [][]string{
		{wire.ContractAlerts, wire.TxUpdateAlertStatus, a.BatchID, a.ID, "acknowledged", "looking"},
		{wire.ContractResponses, wire.TxApproveResponse, "resp-1"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("submits: got %v, want %v", got, want)
	}
}

// TestLedgerRefusalIsShown: the console does not decide; the ledger's
// refusal (an identity without the right) is the page's answer.
func TestLedgerRefusalIsShown(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		want   string
	}{
		{&gateway.LedgerRejectedError{Op: wire.TxApproveResponse, Code: wire.CodeDenied, Reason: `Org1MSP CN=analyst lacks org admin (certificate OU "admin")`}, http.StatusForbidden, "DENIED by the ledger"},
		{&gateway.LedgerRejectedError{Op: wire.TxApproveResponse, Code: wire.CodeState, Reason: "response is requested"}, http.StatusConflict, "STATE"},
		{&gateway.LedgerUnavailableError{Op: wire.TxApproveResponse, Stage: gateway.StageEndorse, Err: context.DeadlineExceeded}, http.StatusServiceUnavailable, "Ledger unavailable"},
	} {
		h := newHarness(t, Config{})
		h.ledger.submitErr = tc.err
		b := h.signIn(analystTok)
		st, body, _ := b.post(Prefix+"/responses/resp-1/approve", url.Values{"csrf": {b.csrf}})
		if st != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%v: got %d, want %d with %q\n%s", tc.err, st, tc.status, tc.want, body)
		}
	}
}

func TestBadFilterIs400(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(readTok)
	for _, p := range []string{"/alerts?severity=urgent", "/alerts?status=gone", "/alerts?from=yesterday", "/policies/p1/x"} {
		if st, _, _ := b.get(Prefix + p); st != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", p, st)
		}
	}
}

func TestPerMinute(t *testing.T) {
	now := t0.Add(30 * time.Second)
	s := []Sample{
		{At: t0.Add(-2*time.Minute + 10*time.Second), Stored: 0},
		{At: t0.Add(-time.Minute + 10*time.Second), Stored: 5},
		{At: t0.Add(10 * time.Second), Stored: 12},
		{At: t0.Add(20 * time.Second), Stored: 1}, // restart: counters reset
		{At: t0.Add(25 * time.Second), Stored: 4},
	}
	got := perMinute(s, now, 3, func(s Sample) uint64 { return s.Stored })
	want := []uint64{0, 5, 10}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	c := barChart("x", "events", got)
	if !strings.Contains(string(c.SVG), "<svg") || !strings.Contains(c.Summary, "15 events") {
		t.Fatalf("chart: %q %q", c.Summary, c.SVG)
	}
}

func TestSessionStoreBoundsAndExpiry(t *testing.T) {
	ck := &clock{t: t0}
	s := newSessions(time.Hour, 2, ck.now)
	a := s.create(gateway.Credential{Name: "a"})
	b := s.create(gateway.Credential{Name: "b"})
	c := s.create(gateway.Credential{Name: "c"})
	if _, why := s.get(a.id); why != sessionUnknown {
		t.Errorf("oldest session survived a full store: %v", why)
	}
	if _, why := s.get(b.id); why != sessionOK {
		t.Errorf("session b: %v", why)
	}
	ck.add(time.Hour)
	if _, why := s.get(c.id); why != sessionExpired {
		t.Errorf("session c after its ttl: %v, want expired", why)
	}
}

func TestStatusJSONNeedsItsOwnSession(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(readTok)
	st, _, hdr := b.upload(b.csrf, testBundle(t))
	if st != http.StatusSeeOther {
		t.Fatalf("upload: %d", st)
	}
	other := h.signIn(readTok)
	if st, _, _ := other.get(hdr.Get("Location")); st != http.StatusNotFound {
		t.Fatalf("another session sees the job: %d", st)
	}
	waitJob(t, b, hdr.Get("Location"))
}

func waitJob(t *testing.T, b *browser, loc string) jobView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, body, _ := b.get(loc + "/status")
		if st != http.StatusOK {
			t.Fatalf("status: %d %s", st, body)
		}
		var v jobView
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if v.Done {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("verification did not finish in 30s")
	return jobView{}
}

var _ = hex.EncodeToString
