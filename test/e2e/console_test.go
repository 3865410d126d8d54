package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// Tokens of the console's sign-in in these tests.
const (
	consoleReadToken    = "e2e-console-read-token"
	consoleAnalystToken = "e2e-console-analyst-token"
	chromiumPath        = "/usr/bin/chromium"
)

// newConsoleGateway starts a gateway of org ("org1", "org2") with the
// console on, acting on the ledger as that org's identity ("" = its
// admin); detection scores what it anchors when detect is set.
func newConsoleGateway(t *testing.T, org, identity string, detect bool) *gatewayProc {
	t.Helper()
	if detect {
		ensureCommittedModelsApproved(t)
	}
	dir := t.TempDir()
	g := &gatewayProc{
		t: t, id: fmt.Sprintf("e2e-con-%s-%d", org, time.Now().UnixNano()), dir: dir,
		config: filepath.Join(dir, "gateway.yaml"), url: "http://" + freePort(t), syslog: freePort(t),
		logPath: filepath.Join(dir, "gateway.log"), detected: detect,
	}
	cfg := fmt.Sprintf(`mode: development
gateway_id: %s
log: {level: info, format: text}
http: {listen: %q}
syslog: {enabled: false, listen: %q}
store: {dir: %q, batch_max_events: 500, batch_max_wait: 200ms}
ledger: {profile: %q, identity: %s, channel: lgchannel, chaincode: ledgerguard}
detection:
  enabled: %t
  models_dir: %q
  onnxruntime_library: %q
  strict: true
console:
  enabled: true
  identity: %q
  sample_interval: 1s
credentials:
  - {name: e2e-hec, token: %s, scopes: [hec], indexes: [main]}
  - {name: e2e-console-reader, token: %s, scopes: [read]}
  - {name: e2e-console-analyst, token: %s, scopes: [read, analyst]}
`, g.id, strings.TrimPrefix(g.url, "http://"), g.syslog, filepath.Join(dir, "store"),
		filepath.Join(env.runDir, "connection-"+org+".json"), gatewayIdentity(t, org, g.id), detect, filepath.Join(env.root, "models"),
		filepath.Join(env.root, "bin", "onnxruntime", "libonnxruntime.so.1"), identity, hecToken, consoleReadToken, consoleAnalystToken)
	if err := os.WriteFile(g.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start()
	t.Cleanup(g.stop)
	return g
}

// artifactsDir is where the console test writes its screenshots:
// $LEDGERGUARD_ARTIFACTS/console, else <run dir>/artifacts/console
// (network/run-test/artifacts/console under make test).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LEDGERGUARD_ARTIFACTS")
	if base == "" {
		base = filepath.Join(env.runDir, "artifacts")
	}
	dir := filepath.Join(base, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page is one browser tab with its console messages collected.
type page struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	mu   sync.Mutex
	errs []string
}

func newPage(t *testing.T, parent context.Context, dir string, opts ...chromedp.ContextOption) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the tab
		t.Fatalf("start chromium: %v", err)
	}
	p := &page{t: t, ctx: ctx, dir: dir}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(p.ctx, chromedp.Location())
		p.t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p *page) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return strings.TrimSpace(p.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel)))
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
}

// checkLabels fails when a visible form control has no label.
func (p *page) checkLabels(view string) {
	p.t.Helper()
	bad := p.eval(`Array.from(document.querySelectorAll('input,select,textarea')).filter(e => e.type !== 'hidden' &&
		!(e.id && document.querySelector('label[for="' + e.id + '"]')) && !e.getAttribute('aria-label')).map(e => e.name || e.id).join(',')`)
	if bad != "" {
		p.t.Errorf("%s: form controls without a label: %s", view, bad)
	}
}

// tabReaches presses Tab from the top of the page until the element with
// id is focused, and fails when it is not within max presses.
func (p *page) tabReaches(view, id string, max int) {
	p.t.Helper()
	// Start from a freshly loaded page: focus at the document's start (or
	// on its autofocus control).
	p.do("reload", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("main")))
	var order []string
	for i := 0; i < max; i++ {
		p.do("press Tab", chromedp.KeyEvent("\t"))
		got := p.eval(`(document.activeElement.id || document.activeElement.tagName + ":" + (document.activeElement.textContent||"").trim().slice(0,20))`)
		order = append(order, got)
		if got == id {
			p.t.Logf("%s: Tab reaches #%s after %d presses", view, id, i+1)
			return
		}
	}
	p.t.Errorf("%s: #%s not reached by keyboard within %d Tab presses; order: %v", view, id, max, order)
}

// probeConsole checks that console errors reach the collector (so "no
// errors" is not vacuous), then forgets the probe.
func (p *page) probeConsole() {
	p.t.Helper()
	p.eval(`console.error("lg-console-probe"), ""`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		seen := len(p.errs) > 0 && strings.Contains(p.errs[len(p.errs)-1], "lg-console-probe")
		if seen {
			p.errs = p.errs[:len(p.errs)-1]
		}
		p.mu.Unlock()
		if seen {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatal("a console.error in the page did not reach the test's collector")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *page) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// signIn opens the console at url, is sent to the sign-in page, signs in
// with token and lands on the overview.
func (p *page) signIn(base, token, shot string) {
	p.t.Helper()
	p.do("open the console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, _ := chromedp.Run(p.ctx, chromedp.Location()); !strings.Contains(loc, "/console/login") {
		p.t.Fatalf("without a session the console is at %s, want the sign-in page", loc)
	}
	p.checkLabels("sign-in")
	p.tabReaches("sign-in", "signin", 10)
	if shot != "" {
		p.screenshot(shot)
	}
	p.do("sign in", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("h-ready")))
}

// consoleBundles anchors a small store of its own on the network and
// exports a good evidence bundle and a tampered copy (one event's bytes
// modified), as files.
func consoleBundles(ctx context.Context, t *testing.T) (good, tampered string) {
	t.Helper()
	gwID := fmt.Sprintf("con-ev-%d", time.Now().UnixNano())
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", gwID), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	start := time.Now().UTC().Truncate(time.Second)
	events := make([]gateway.Event, 10)
	for i := range events {
		events[i] = gateway.Event{Received: start, Time: start.Add(time.Duration(i) * time.Second), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("%s failed login %d", gwID, i))}
	}
	if _, err := st.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ledger := fabric.NewLedger(dial(t, "org1", gatewayIdentity(t, "org1", gwID)), channelName, chaincodeName)
	for _, b := range pending {
		// Each batch must extend the one before on both orgs' peers: the
		// other org's endorser may not have committed it yet (a CONFLICT
		// that a retry of this idempotent call resolves).
		var anc gateway.Anchor
		var err error
		for attempt := 1; attempt <= 20; attempt++ {
			var rej *gateway.LedgerRejectedError
			if anc, err = ledger.AnchorBatch(ctx, b); err == nil || !errors.As(err, &rej) || rej.Code != wire.CodeConflict {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("anchor batch %s: %v", b.ID, err)
		}
		if err := st.MarkAnchored(ctx, b.ID, anc.TxID, anc.BlockNumber); err != nil {
			t.Fatal(err)
		}
	}
	src := fabric.NewEvidenceSource(dial(t, "org1", "auditor"), channelName, chaincodeName)
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, st, src, evidence.Request{GatewayMSP: "Org1MSP", GatewayID: gwID, Channel: channelName,
		Chaincode: chaincodeName, From: start.Add(-time.Minute), To: start.Add(time.Hour)}); err != nil {
		t.Fatalf("export: %v", err)
	}
	dir := t.TempDir()
	good = filepath.Join(dir, "good-bundle.jsonl")
	if err := os.WriteFile(good, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := evidence.ReadBundle(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := evidencetest.ModifyEvent(b, 1, 1); err != nil {
		t.Fatal(err)
	}
	var bad bytes.Buffer
	if err := b.Write(&bad, false); err != nil {
		t.Fatal(err)
	}
	tampered = filepath.Join(dir, "tampered-bundle.jsonl")
	if err := os.WriteFile(tampered, bad.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return good, tampered
}

// TestConsole drives the console in Debian's chromium, headless, against
// the real network and gateways: sign in, see alerts appear after NSL-KDD
// telemetry is sent, acknowledge one and see its new status and history
// entry, approve a gated response as Org2, verify a good and a tampered
// bundle, with no console error, every form control labelled and the
// primary actions reachable by keyboard. A screenshot of each view is
// written to artifactsDir.
func TestConsole(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s is absent (make setup installs Debian's chromium): %v", chromiumPath, err)
	}
	m := readManifest(t, "nsl-kdd-flow")
	body := kddEvents(t, "neptune", 20) // skips without the datasets
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	shots := artifactsDir(t)
	t.Logf("screenshots go to %s", shots)

	g1 := newConsoleGateway(t, "org1", "", true)
	g2 := newConsoleGateway(t, "org2", "", false)
	// Org2's gateway whose console acts as Org2's analyst, who may not
	// approve responses: the ledger refuses, and the page says so.
	g2analyst := newConsoleGateway(t, "org2", "analyst", false)

	// A policy that asks one organisation's approval before acting on any
	// alert of this gateway.
	run := fmt.Sprint(time.Now().UnixNano())
	pol := wire.Policy{ID: "con-gated-" + run, Version: 1, Mode: wire.ModeEnforce, ResponseApprovals: 1,
		Condition: fmt.Sprintf(`alert.gateway == %q`, g1.id),
		Actions:   []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}}}
	author1, admin1, admin2 := dial(t, "org1", "author"), dial(t, "org1", ""), dial(t, "org2", "")
	rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSONString(t, pol))
	rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, pol.ID, "1")
	rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, nil, pol.ID, "1")
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if _, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(cctx, wire.TxRevokePolicy,
			client.WithArguments(pol.ID, "1", "end of console e2e run "+run)); err != nil {
			t.Logf("revoke %s: %s", pol.ID, fabricDetails(err))
		}
	})
	good, tampered := consoleBundles(ctx, t)

	alloc, acancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 1000))...)
	defer acancel()
	p := newPage(t, alloc, shots)
	p.signIn(g1.url, consoleAnalystToken, "01-sign-in")
	p.probeConsole()

	// Telemetry in; alerts appear in the console.
	if st, resp := g1.post("/services/collector/event", "Splunk "+hecToken, "application/json", body,
		"X-Splunk-Request-Channel", "5a1d1b2c-0000-4000-8000-0000000000c1"); st != http.StatusOK {
		t.Fatalf("HEC status %d: %s", st, resp)
	}
	// Only the supervised model's alerts: the anomaly models flag some of
	// these rows too, and the detail page below checks this model's sha256.
	alertsURL := g1.url + "/console/alerts?msp=Org1MSP&gateway=" + g1.id + "&model=" + m.Name
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p.do("open alerts", chromedp.Navigate(alertsURL), chromedp.WaitVisible(chromedp.ID("alerts")))
		if p.count(".alert-row") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert in the console 2 minutes after the telemetry\n%s", g1.log())
		}
		time.Sleep(time.Second)
	}
	t.Logf("console lists %d alerts of gateway %s", p.count(".alert-row"), g1.id)
	p.checkLabels("alerts")
	p.tabReaches("alerts", "apply-filters", 40)
	p.screenshot("02-alerts")

	// Page render, measured (not asserted): wall time of a full navigation
	// of the Alerts view in the browser, ledger query included.
	var total time.Duration
	const renders = 5
	for range renders {
		start := time.Now()
		p.do("render alerts", chromedp.Navigate(alertsURL), chromedp.WaitVisible(chromedp.ID("alerts")))
		total += time.Since(start)
	}
	fmt.Printf("CONSOLE alerts_page_ms=%.1f (mean of %d browser navigations, %d alerts on the page, ledger query included)\n",
		float64(total.Microseconds())/1000/renders, renders, p.count(".alert-row"))

	// Alert detail: model sha256, the cited event's inclusion proof, the
	// response it triggered.
	p.do("open an alert", chromedp.Click(chromedp.CSS(".alert-row .alert-link")), chromedp.WaitVisible(chromedp.ID("alert-status")))
	if got := p.text("#model-sha"); got != m.Model.SHA256 {
		t.Errorf("alert page model sha256 = %q, want %s", got, m.Model.SHA256)
	}
	if p.count("#proof li") == 0 && p.count("#event") == 0 {
		t.Errorf("alert page shows no cited event with its inclusion proof")
	}
	if got := p.text("#alert-status"); got != wire.AlertOpen {
		t.Fatalf("new alert status %q, want open", got)
	}
	before := p.count(".history-row")
	p.checkLabels("alert")
	p.tabReaches("alert", "act-acknowledged", 30)
	p.screenshot("03-alert")

	// Acknowledge: a ledger transaction; the page shows the new status and
	// the history entry.
	p.do("acknowledge", chromedp.SendKeys(chromedp.ID("reason"), "triaged in the e2e console test"),
		chromedp.Click(chromedp.ID("act-acknowledged")), chromedp.WaitVisible(chromedp.ID("flash")))
	if got := p.text("#alert-status"); got != wire.AlertAcknowledged {
		t.Errorf("status after acknowledge %q, want acknowledged", got)
	}
	if got := p.count(".history-row"); got != before+1 {
		t.Errorf("history rows %d after acknowledge, want %d", got, before+1)
	}
	if h := p.text("#history"); !strings.Contains(h, "open → acknowledged") || !strings.Contains(h, "triaged in the e2e console test") {
		t.Errorf("history lacks the acknowledgement: %s", h)
	}
	p.screenshot("04-alert-acknowledged")

	// Overview, policies, evidence (with both verdicts).
	p.do("overview", chromedp.Navigate(g1.url+"/console/"), chromedp.WaitVisible(chromedp.ID("models")))
	if got := p.text("#models"); !strings.Contains(got, m.Model.SHA256) || !strings.Contains(got, "Org2MSP") {
		t.Errorf("overview models table lacks the served model's sha256 or its approvals: %s", got)
	}
	p.screenshot("05-overview")
	p.do("policies", chromedp.Navigate(g1.url+"/console/policies?state=active"), chromedp.WaitVisible(chromedp.ID("policies")))
	if got := p.text("#policies"); !strings.Contains(got, pol.ID) {
		t.Logf("policy %s is not on the first page of active policies (the network is shared)", pol.ID)
	}
	p.checkLabels("policies")
	p.screenshot("06-policies")
	p.do("responses (org1)", chromedp.Navigate(g1.url+"/console/responses?state=awaiting-approval&policy="+pol.ID),
		chromedp.WaitVisible(chromedp.ID("responses")))
	if p.count(".response-row") == 0 {
		t.Fatalf("no response awaiting approval for policy %s", pol.ID)
	}
	p.screenshot("07-responses")

	for _, tc := range []struct{ file, verdict, shot string }{
		{good, "OK:", "08-evidence-verified"},
		{tampered, "FAILED:", "09-evidence-tampered"},
	} {
		p.do("evidence", chromedp.Navigate(g1.url+"/console/evidence"), chromedp.WaitVisible(chromedp.ID("bundle")))
		p.checkLabels("evidence")
		if tc.verdict == "OK:" {
			p.tabReaches("evidence", "verify", 40)
			p.screenshot("08a-evidence")
		}
		p.do("upload "+filepath.Base(tc.file), chromedp.SetUploadFiles(chromedp.ID("bundle"), []string{tc.file}),
			chromedp.Click(chromedp.ID("verify")), chromedp.WaitVisible(chromedp.ID("verdict-line")))
		got := p.text("#verdict-line")
		if !strings.HasPrefix(got, tc.verdict) {
			t.Errorf("%s: verdict %q, want %s…\n%s", filepath.Base(tc.file), got, tc.verdict, p.text("#report"))
		}
		if tc.verdict == "FAILED:" && !strings.Contains(p.text("#report"), "modified: event ") {
			t.Errorf("tampered bundle: report does not name the modified event:\n%s", p.text("#report"))
		}
		if p.count("#verify-progress") != 1 {
			t.Errorf("verification page has no progress bar")
		}
		p.screenshot(tc.shot)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors on the Org1 console: %q", errs)
	}

	// Org2 approves a gated response from its own gateway's console, in a
	// separate browser context (its own cookies). First through a console
	// acting as Org2's analyst: the ledger denies it and nothing changes.
	p2 := newPage(t, p.ctx, shots, chromedp.WithNewBrowserContext())
	p2.signIn(g2analyst.url, consoleAnalystToken, "")
	p2.do("responses (org2 analyst)", chromedp.Navigate(g2analyst.url+"/console/responses?state=awaiting-approval&policy="+pol.ID),
		chromedp.WaitVisible(chromedp.ID("responses")))
	id := p2.eval(`document.querySelector(".response-row").dataset.id`)
	p2.do("approve as Org2's analyst", chromedp.Click(chromedp.ID("approve-"+id)), chromedp.WaitVisible(chromedp.ID("problem")))
	if got := p2.text("#problem"); !strings.Contains(got, "DENIED by the ledger") || !strings.Contains(got, "HTTP 403") {
		t.Errorf("approval by an analyst identity: page says %q, want the ledger's DENIED", got)
	}
	p2.screenshot("10a-approve-denied-by-ledger")
	if r := rspResponse(ctx, t, admin1, id); r.State != wire.ResponseAwaitingApproval || len(r.Approvals) != 0 {
		t.Fatalf("after the denied approval the response is %q with %d approvals, want unchanged", r.State, len(r.Approvals))
	}
	p3 := newPage(t, p.ctx, shots, chromedp.WithNewBrowserContext())
	p3.signIn(g2.url, consoleAnalystToken, "")
	p3.do("responses (org2)", chromedp.Navigate(g2.url+"/console/responses?state=awaiting-approval&policy="+pol.ID),
		chromedp.WaitVisible(chromedp.ID("responses")))
	p3.checkLabels("responses")
	p3.tabReaches("responses", "approve-"+id, 40)
	p3.screenshot("10-responses-org2")
	p3.do("approve as Org2", chromedp.Click(chromedp.ID("approve-"+id)), chromedp.WaitVisible(chromedp.ID("flash")))
	if got := p3.text("#flash"); !strings.Contains(got, "approved: now "+wire.ResponseRequested) {
		t.Errorf("after approval the page says %q", got)
	}
	p3.screenshot("11-response-approved-org2")
	r := rspResponse(ctx, t, admin1, id)
	if r.State != wire.ResponseRequested || len(r.Approvals) != 1 || r.Approvals[0].MSP != "Org2MSP" {
		t.Errorf("response %s on the ledger: state %q approvals %+v, want requested with Org2MSP's approval", id, r.State, r.Approvals)
	}
	// The denied approval's 403 page is logged by the browser as a failed
	// resource load; nothing else may be.
	var errs []string
	for _, e := range p2.consoleErrors() {
		if strings.Contains(e, "403") {
			t.Logf("expected browser log entry of the denied approval: %s", e)
			continue
		}
		errs = append(errs, e)
	}
	errs = append(errs, p3.consoleErrors()...)
	if len(errs) > 0 {
		t.Errorf("browser console errors on the Org2 consoles: %q", errs)
	}
}
