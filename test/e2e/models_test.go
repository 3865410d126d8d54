package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// committedModels are the models under models/ the gateways serve: the
// highest version of each name.
func committedModels(t testing.TB) []manifest {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(env.root, "models", "*", "*", "manifest.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no committed models under models/ (%v)", err)
	}
	var out []manifest
	seen := map[string]bool{}
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(filepath.Dir(d)))
		if !seen[name] {
			seen[name] = true
			out = append(out, readManifest(t, name))
		}
	}
	return out
}

// cli runs `ledgerguard ARGS... --profile connection-ORG.json [--identity ID]`
// against the test network and returns its output.
func cli(t testing.TB, org, identity string, args ...string) string {
	t.Helper()
	args = append(args, "--profile", filepath.Join(env.runDir, "connection-"+org+".json"), "--timeout", "2m")
	if identity != "" {
		args = append(args, "--identity", identity)
	}
	cmd := exec.Command(gatewayBinary(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ledgerguard %s (%s %s): %v\n%s", strings.Join(args, " "), org, identity, err, out)
	}
	return string(out)
}

var approveOnce struct {
	sync.Mutex
	done bool
}

// ensureCommittedModelsApproved registers the committed models as Org1's
// author and approves them as both orgs' admins, through the CLI. Every
// step is idempotent on the ledger, so it is safe on a network where an
// earlier run did it; within one test run it happens once.
func ensureCommittedModelsApproved(t testing.TB) {
	t.Helper()
	approveOnce.Lock()
	defer approveOnce.Unlock()
	if approveOnce.done {
		return
	}
	models := filepath.Join(env.root, "models")
	cli(t, "org1", "author", "models", "register", models)
	cli(t, "org1", "", "models", "approve", models)
	cli(t, "org2", "", "models", "approve", models)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	auditor := dial(t, "org1", "auditor")
	for _, m := range committedModels(t) {
		raw, err := auditor.Contract(channelName, chaincodeName, wire.ContractModels).EvaluateWithContext(ctx, wire.TxGetModel,
			client.WithArguments(m.Name, m.Version))
		if err != nil {
			t.Fatalf("GetModel %s %s: %s", m.Name, m.Version, fabricDetails(err))
		}
		var rec wire.ModelRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("GetModel result %s: %v", raw, err)
		}
		if rec.State != wire.ModelApproved || rec.SHA256 != m.Model.SHA256 {
			t.Fatalf("committed model %s %s is %s on the ledger with sha256 %s (want approved, %s): a revoked committed model needs a fresh network (make network-reset)",
				m.Name, m.Version, rec.State, rec.SHA256, m.Model.SHA256)
		}
	}
	approveOnce.done = true
}

var servedLine = regexp.MustCompile(`^ledgerguard_models_served\{([^}]*)\} 1$`)
var labelPair = regexp.MustCompile(`(\w+)="([^"]*)"`)

// served reads ledgerguard_models_served from /metrics as
// "name@version sha256" entries, sorted.
func (g *gatewayProc) served() []string {
	g.t.Helper()
	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		g.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := servedLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		labels := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[1], -1) {
			labels[p[1]] = p[2]
		}
		out = append(out, labels["model"]+"@"+labels["version"]+" "+labels["sha256"])
	}
	slices.Sort(out)
	return out
}

// waitServed polls /metrics until the served models are want (bounded).
func (g *gatewayProc) waitServed(want []string) {
	g.t.Helper()
	slices.Sort(want)
	var got []string
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if got = g.served(); slices.Equal(got, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	g.t.Fatalf("models served:\n%s\nwant:\n%s\ngateway log:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), g.log())
}

// waitLog polls the gateway's log until it holds every part (bounded).
func (g *gatewayProc) waitLog(parts ...string) {
	g.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		log := g.log()
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(log, p) }) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	g.t.Fatalf("gateway log lacks %q:\n%s", parts, g.log())
}

// linkModel makes root/<name>/<version>/ holding a link to the committed
// model file and a copy of its manifest with version set to version.
func linkModel(t *testing.T, root, name, version string) string {
	t.Helper()
	src := filepath.Join(env.root, "models", name, servedVersion(t, name))
	dst := filepath.Join(root, name, version)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every graph: model.onnx, and a cascade's screen beside it.
	graphs, err := filepath.Glob(filepath.Join(src, "*.onnx"))
	if err != nil || len(graphs) == 0 {
		t.Fatalf("no graph in %s: %v", src, err)
	}
	for _, g := range graphs {
		if err := os.Symlink(g, filepath.Join(dst, filepath.Base(g))); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = version
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestModelProvenanceStrictMode: the committed models, registered as
// Org1's author and approved by both orgs' admins, are served by a
// gateway in strict mode; a new version on disk is not served until it is
// registered and approved, then replaces the old one without a restart;
// its revocation by Org2's admin unloads it within one ledger check, and
// the approved 1.0.0 serves again.
func TestModelProvenanceStrictMode(t *testing.T) {
	ensureCommittedModelsApproved(t)
	committed := committedModels(t)
	root := t.TempDir()
	for _, m := range committed {
		linkModel(t, root, m.Name, m.Version)
	}
	const name = "nsl-kdd-flow"
	// Above the served version, unique per run: revocation is final.
	next := fmt.Sprintf("%s.%d", servedVersion(t, name), time.Now().UnixMilli())
	nextDir := linkModel(t, root, name, next)
	var want []string
	var nslSHA string
	for _, m := range committed {
		want = append(want, m.Name+"@"+m.Version+" "+m.Model.SHA256)
		if m.Name == name {
			nslSHA = m.Model.SHA256
		}
	}

	g := newGateway(t, gatewayOpts{detection: true, modelsDir: root, ledgerCheck: time.Second})
	g.waitServed(want)
	g.waitLog(`msg="model not served: not registered on the ledger" model=`+name+" version="+next, "strict=true")

	cli(t, "org1", "author", "models", "register", nextDir)
	g.waitLog(`msg="model not served: awaiting approval" model=` + name + " version=" + next)
	cli(t, "org1", "", "models", "approve", name, next)
	cli(t, "org2", "", "models", "approve", name, next)
	upgraded := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return strings.HasPrefix(s, name+"@") })
	upgraded = append(upgraded, name+"@"+next+" "+nslSHA)
	g.waitServed(upgraded)
	g.waitLog(`msg="model approved on the ledger" model=`+name+" version="+next, `msg="model loaded" model=`+name+" version="+next)

	out := cli(t, "org2", "", "models", "revoke", name, next, "--reason", "e2e: emergency revocation by another member")
	if !strings.Contains(out, "revoked") {
		t.Fatalf("revoke output:\n%s", out)
	}
	g.waitServed(want)
	g.waitLog(`msg="model unloaded" model=`+name+" version="+next, `msg="model not served: revoked on the ledger" model=`+name+" version="+next)

	// The ledger keeps the whole story of the revoked version.
	var rec wire.ModelRecord
	evaluateJSON(context.Background(), t, dial(t, "org2", "auditor"), wire.ContractModels, wire.TxGetModel, &rec, name, next)
	if rec.State != wire.ModelRevoked || rec.Owner != "Org1MSP" || len(rec.Approvals) != 2 || rec.RevokedBy == nil || rec.RevokedBy.MSP != "Org2MSP" {
		t.Fatalf("ledger record of %s %s = %+v", name, next, rec)
	}
}
