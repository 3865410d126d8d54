package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

const (
	readTok    = "read-token-0123456789abcdef012345"
	analystTok = "analyst-token-0123456789abcdef0123"
	hecTok     = "hec-token-0123456789abcdef01234567"
)

// fakeLedger answers evaluations from canned records and records every
// submit; submitErr makes submits fail.
type fakeLedger struct {
	mu        sync.Mutex
	alerts    []wire.Alert
	responses []wire.Response
	policies  []wire.Policy
	batches   []wire.Batch
	submits   [][]string
	submitErr error
}

func (f *fakeLedger) Evaluate(_ context.Context, contract, tx string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch tx {
	case wire.TxListAlerts:
		return json.Marshal(wire.Page[wire.Alert]{Records: f.alerts, Fetched: int32(len(f.alerts))})
	case wire.TxGetAlert:
		for _, a := range f.alerts {
			if a.BatchID == args[0] && a.ID == args[1] {
				return json.Marshal(a)
			}
		}
		return nil, &gateway.LedgerRejectedError{Op: tx, Code: wire.CodeNotFound, Reason: "no alert " + args[1]}
	case wire.TxGetAlertHistory:
		var recs []wire.HistoryEntry[wire.Alert]
		for _, a := range f.alerts {
			if a.ID == args[1] {
				a := a
				recs = append(recs, wire.HistoryEntry[wire.Alert]{TxID: a.RaisedTx, Timestamp: a.RaisedAt, Value: &a})
			}
		}
		return json.Marshal(wire.Page[wire.HistoryEntry[wire.Alert]]{Records: recs})
	case wire.TxListResponses:
		return json.Marshal(wire.Page[wire.Response]{Records: f.responses})
	case wire.TxListPolicies:
		return json.Marshal(wire.Page[wire.Policy]{Records: f.policies, Bookmark: "next-policy"})
	case wire.TxGetPolicy:
		return json.Marshal(f.policies[0])
	case wire.TxGetPolicyHistory:
		p := f.policies[0]
		return json.Marshal(wire.Page[wire.HistoryEntry[wire.Policy]]{Records: []wire.HistoryEntry[wire.Policy]{{TxID: "tx-p", Value: &p}}})
	case wire.TxListBatches:
		return json.Marshal(wire.Page[wire.Batch]{Records: f.batches})
	case wire.TxGetModel:
		return json.Marshal(wire.ModelRecord{Name: args[0], Version: args[1], State: wire.ModelApproved,
			Approvals: []wire.Approval{{MSP: "Org1MSP", Subject: "CN=Admin"}, {MSP: "Org2MSP", Subject: "CN=Admin"}}})
	}
	return nil, fmt.Errorf("fake ledger: unexpected %s:%s", contract, tx)
}

func (f *fakeLedger) Submit(_ context.Context, contract, tx string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	f.submits = append(f.submits, append([]string{contract, tx}, args...))
	switch tx {
	case wire.TxApproveResponse:
		return json.Marshal(wire.Response{ID: args[0], State: wire.ResponseRequested})
	}
	return []byte(`{}`), nil
}

func (f *fakeLedger) submitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.submits)
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func testAlert(i int) wire.Alert {
	h := fmt.Sprintf("%064x", i+1)
	return wire.Alert{ID: fmt.Sprintf("%064x", 1000+i), MSP: "Org1MSP", GatewayID: "gw-1", EventHash: h, BatchID: fmt.Sprintf("%064x", 77),
		EventTime: wire.NewTime(t0), Detector: wire.Model{ID: "nsl-kdd-flow", Version: "1.0.0", SHA256: fmt.Sprintf("%064x", 5)},
		Score: 0.99, Severity: wire.SeverityHigh, Category: "T1499", Asset: "web-01", Status: wire.AlertOpen,
		RaisedAt: wire.NewTime(t0), RaisedTx: fmt.Sprintf("tx-%d", i), RaisedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=gateway"}}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t      testing.TB
	c      *Console
	ledger *fakeLedger
	clock  *clock
	srv    *httptest.Server
}

func newHarness(t testing.TB, cfg Config, mod ...func(*Deps)) *harness {
	t.Helper()
	l := &fakeLedger{alerts: []wire.Alert{testAlert(0), testAlert(1)},
		responses: []wire.Response{{ID: "resp-1", AlertID: testAlert(0).ID, BatchID: testAlert(0).BatchID, PolicyID: "p1", PolicyVersion: 1,
			State: wire.ResponseAwaitingApproval, RequiredApprovals: 1, Actions: []wire.Action{{Type: wire.ActionMFAChallenge}}}},
		policies: []wire.Policy{{ID: "p1", Version: 1, Condition: `alert.severity == "high"`, Mode: wire.ModeEnforce, State: wire.PolicyActive,
			Actions:    []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
			ProposedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author"}}},
		batches: []wire.Batch{{ID: fmt.Sprintf("%064x", 77), MSP: "Org1MSP", GatewayID: "gw-1", TreeSizeAfter: 5, RootHash: fmt.Sprintf("%064x", 9), TxID: "tx-anchor"}},
	}
	ck := &clock{t: t0}
	deps := Deps{
		Ledger: l,
		Credentials: []gateway.Credential{
			{Name: "reader", Token: readTok, Scopes: []gateway.Scope{gateway.ScopeRead}},
			{Name: "analyst", Token: analystTok, Scopes: []gateway.Scope{gateway.ScopeRead, gateway.ScopeAnalyst}},
			{Name: "hec", Token: hecTok, Scopes: []gateway.Scope{gateway.ScopeHEC}},
		},
		Stats: func() Sample { return Sample{Stored: 10, Anchored: 8, Alerts: 2, Lag: time.Second} },
		Ready: func(context.Context) (bool, map[string]string) { return true, map[string]string{"store": "ok"} },
		Models: func() []gateway.ModelRef {
			return []gateway.ModelRef{{ID: "nsl-kdd-flow", Version: "1.0.0", SHA256: "abc"}}
		},
		GatewayMSP: "Org1MSP", GatewayID: "gw-1", TempDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: ck.now,
	}
	for _, m := range mod {
		m(&deps)
	}
	c, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, c: c, ledger: l, clock: ck}
	h.srv = httptest.NewServer(c)
	t.Cleanup(h.srv.Close)
	return h
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	h      *harness
	client *http.Client
	csrf   string
}

func (h *harness) browser() *browser {
	jar := newJar()
	return &browser{h: h, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.h.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) get(path string) (int, string, http.Header) {
	req, _ := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	req, _ := http.NewRequest(http.MethodPost, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// upload posts a multipart form: the csrf part (when csrf != ""), then
// the bundle.
func (b *browser) upload(csrf string, bundle []byte) (int, string, http.Header) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		if csrf != "" {
			_ = mw.WriteField("csrf", csrf)
		}
		fw, _ := mw.CreateFormFile("bundle", "bundle.jsonl")
		_, _ = fw.Write(bundle)
		_ = mw.Close()
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, b.h.srv.URL+Prefix+"/evidence/verify", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// signIn signs in with token and returns the browser with its session.
func (h *harness) signIn(token string) *browser {
	h.t.Helper()
	b := h.browser()
	if st, _, _ := b.get(Prefix + "/login"); st != http.StatusOK {
		h.t.Fatalf("GET login: %d", st)
	}
	st, body, hdr := b.post(Prefix+"/login", url.Values{"csrf": {b.csrf}, "token": {token}, "next": {Prefix + "/alerts"}})
	if st != http.StatusSeeOther || hdr.Get("Location") != Prefix+"/alerts" {
		h.t.Fatalf("sign in: %d %s %s", st, hdr.Get("Location"), body)
	}
	if st, _, _ := b.get(Prefix + "/"); st != http.StatusOK { // picks up the session's CSRF token
		h.t.Fatalf("overview: %d", st)
	}
	return b
}
