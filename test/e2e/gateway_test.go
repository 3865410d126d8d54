package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tokens of the gateways the tests start (development mode accepts them).
const (
	hecToken    = "e2e-hec-token"
	esToken     = "e2e-es-apikey"
	otlpToken   = "e2e-otlp-token"
	ndjsonToken = "e2e-ndjson-token"
	readToken   = "e2e-read-token"
)

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// gatewayBinary builds bin/ledgerguard once per test run.
func gatewayBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lg-e2e-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "ledgerguard")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "./gateway/cmd/ledgerguard")
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

// gatewayProc is one running `ledgerguard gateway` process.
type gatewayProc struct {
	t        testing.TB
	id       string
	dir      string
	config   string
	url      string
	syslog   string
	cmd      *exec.Cmd
	logPath  string
	exited   chan struct{}
	detected bool
}

type gatewayOpts struct {
	detection      bool
	batchMaxEvents int
	batchMaxWait   time.Duration
	// nonStrict sets detection.strict: false (serve every model on disk).
	// By default the gateway runs in strict mode, as in production, and
	// newGateway first registers and approves the committed models on the
	// ledger (idempotently) so that detection has models to serve.
	nonStrict bool
	// modelsDir replaces the committed models/ folder.
	modelsDir string
	// ledgerCheck is detection.ledger_check_interval (default 30s).
	ledgerCheck time.Duration
	// storeDir replaces the store folder (default: in the test's temp dir).
	storeDir string
	// extraConfig is appended to the configuration (e.g. a respond: section).
	extraConfig string
	// id replaces the generated gateway id.
	id string
	// org is the organisation the gateway belongs to ("org1" when empty).
	org string
	// ledgerTimeouts is the ledger.timeouts flow mapping ("" none: the
	// client's defaults), e.g. "{commit_status: 10s}".
	ledgerTimeouts string
}

// ledgerTimeouts is the ledger mapping's timeouts entry for flow, "" for
// none.
func ledgerTimeouts(flow string) string {
	if flow == "" {
		return ""
	}
	return ", timeouts: " + flow
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newGateway writes a configuration for a fresh gateway (its own id, the
// Org1 identity bound to that id, its own store) and starts it; Cleanup
// stops it.
func newGateway(t testing.TB, o gatewayOpts) *gatewayProc {
	t.Helper()
	if o.batchMaxEvents == 0 {
		o.batchMaxEvents = 500
	}
	if o.batchMaxWait == 0 {
		o.batchMaxWait = 200 * time.Millisecond
	}
	if o.modelsDir == "" {
		o.modelsDir = filepath.Join(env.root, "models")
	}
	if o.org == "" {
		o.org = "org1"
	}
	if o.ledgerCheck == 0 {
		o.ledgerCheck = 30 * time.Second
	}
	if o.detection && !o.nonStrict {
		ensureCommittedModelsApproved(t)
	}
	dir := t.TempDir()
	if o.storeDir == "" {
		o.storeDir = filepath.Join(dir, "store")
	}
	if o.id == "" {
		o.id = fmt.Sprintf("e2e-gw-%d", time.Now().UnixNano())
	}
	g := &gatewayProc{
		t: t, id: o.id, dir: dir,
		config: filepath.Join(dir, "gateway.yaml"), url: "http://" + freePort(t), syslog: freePort(t),
		logPath: filepath.Join(dir, "gateway.log"), detected: o.detection,
	}
	cfg := fmt.Sprintf(`mode: development
gateway_id: %s
log: {level: info, format: text}
http: {listen: %q}
syslog: {enabled: true, listen: %q, allowed_networks: [127.0.0.0/8]}
store: {dir: %q, batch_max_events: %d, batch_max_wait: %s}
ledger: {profile: %q, identity: %s, channel: lgchannel, chaincode: ledgerguard%s}
detection:
  enabled: %t
  models_dir: %q
  onnxruntime_library: %q
  strict: %t
  ledger_check_interval: %s
credentials:
  - {name: e2e-hec, token: %s, scopes: [hec], indexes: [main], ack: true}
  - {name: e2e-es, username: elastic, token: %s, scopes: [elasticsearch]}
  - {name: e2e-otel, token: %s, scopes: [otlp]}
  - {name: e2e-ndjson, token: %s, scopes: [ndjson]}
  - {name: e2e-reader, token: %s, scopes: [read]}
`, g.id, strings.TrimPrefix(g.url, "http://"), g.syslog, o.storeDir, o.batchMaxEvents, o.batchMaxWait,
		filepath.Join(env.runDir, "connection-"+o.org+".json"), gatewayIdentity(t, o.org, g.id), ledgerTimeouts(o.ledgerTimeouts), o.detection, o.modelsDir,
		filepath.Join(env.root, "bin", "onnxruntime", "libonnxruntime.so.1"), !o.nonStrict, o.ledgerCheck,
		hecToken, esToken, otlpToken, ndjsonToken, readToken) + o.extraConfig
	if err := os.WriteFile(g.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start()
	t.Cleanup(g.stop)
	return g
}

func (g *gatewayProc) start() {
	g.t.Helper()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		g.t.Fatal(err)
	}
	g.cmd = exec.Command(gatewayBinary(g.t), "gateway", "--config", g.config)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.exited = make(chan struct{})
	go func() { _ = g.cmd.Wait(); logf.Close(); close(g.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.exited:
			g.t.Fatalf("gateway exited at start-up:\n%s", g.log())
		default:
		}
		if resp, err := http.Get(g.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.t.Fatalf("gateway not ready within 30s:\n%s", g.log())
}

// kill sends SIGKILL: no shutdown code runs.
func (g *gatewayProc) kill() {
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.exited
}

func (g *gatewayProc) stop() {
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.kill()
	}
}

func (g *gatewayProc) log() string {
	b, _ := os.ReadFile(g.logPath)
	return string(b)
}

// post sends a request and returns status and body.
func (g *gatewayProc) post(path, auth, contentType string, body []byte, header ...string) (int, []byte) {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// getJSON reads a read-API resource.
func (g *gatewayProc) getJSON(path string, out any) int {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			g.t.Fatalf("GET %s: decode %s: %v", path, b, err)
		}
	}
	return resp.StatusCode
}

type checkpoint struct {
	Size         uint64 `json:"size"`
	Root         string `json:"root"`
	AnchoredSize uint64 `json:"anchored_size"`
}

// waitAnchored waits (bounded) until the gateway's anchored size reaches n.
func (g *gatewayProc) waitAnchored(ctx context.Context, n uint64) checkpoint {
	g.t.Helper()
	var cp checkpoint
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if g.getJSON("/v1/checkpoint", &cp) == http.StatusOK && cp.AnchoredSize >= n {
			return cp
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.t.Fatalf("anchored size %d after 3 minutes, want >= %d\n%s", cp.AnchoredSize, n, g.log())
	return cp
}

// TestGatewayRefusesAStoreTheLedgerContradicts: a gateway id whose log the
// ledger already anchored cannot start over with an empty store; the
// gateway says why and exits instead of sending refused transactions.
func TestGatewayRefusesAStoreTheLedgerContradicts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{})
	if st, body := g.post("/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson", []byte(`{"event":{"msg":"first"}}`+"\n")); st != http.StatusOK {
		t.Fatalf("NDJSON: %d %s", st, body)
	}
	g.waitAnchored(ctx, 1)
	g.stop()
	if err := os.RemoveAll(filepath.Join(g.dir, "store")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, gatewayBinary(t), "gateway", "--config", g.config)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("gateway with an emptied store: err %v, want exit code 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "not that gateway's log") {
		t.Fatalf("gateway output lacks the reason:\n%s", out)
	}
}
