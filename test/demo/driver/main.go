// Command driver runs the story of `make demo` against a running network,
// gateway and demo receiver: it puts the example policies in force (an
// author proposes, both organisations' admins approve), replays real public
// telemetry through the gateway's ingest APIs — NSL-KDD flows and SSH brute
// force over Splunk HEC, DNS queries with generated (DGA) domains over
// NDJSON — shows a live view while the gateway detects, anchors, alerts and
// responds, and prints a summary read back from the ledger and the receiver.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/test/replay"
)

type options struct {
	gateway, receiver, runDir, dataDir, policiesDir, bin, gatewayID string
	hecToken, ndjsonToken, readToken                                string
	settle                                                          time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.gateway, "gateway", "http://127.0.0.1:8088", "gateway URL")
	flag.StringVar(&o.receiver, "receiver", "http://127.0.0.1:18090", "demo receiver URL")
	flag.StringVar(&o.runDir, "run-dir", "network/run", "network state folder (connection profiles)")
	flag.StringVar(&o.dataDir, "data", "../shared/data", "public datasets folder")
	flag.StringVar(&o.policiesDir, "policies", "policies", "example policies folder")
	flag.StringVar(&o.bin, "ledgerguard", "bin/ledgerguard", "the ledgerguard command")
	flag.StringVar(&o.gatewayID, "gateway-id", "org1-gateway-1", "the gateway's id (network/gateway-dev.yaml)")
	flag.StringVar(&o.hecToken, "hec-token", "dev-hec-token-not-secret", "HEC token")
	flag.StringVar(&o.ndjsonToken, "ndjson-token", "dev-ndjson-token-not-secret", "NDJSON token")
	flag.StringVar(&o.readToken, "read-token", "dev-read-token-not-secret", "read API token")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "how long to wait for the last responses after the replay")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat(o.dataDir); err != nil {
		return fmt.Errorf("the public datasets are needed for the replay (%s): %w", o.dataDir, err)
	}
	start := time.Now().UTC()
	if resp, err := http.Post(o.receiver+"/control/reset", "text/plain", nil); err != nil {
		return fmt.Errorf("the demo receiver does not answer at %s: %w", o.receiver, err)
	} else {
		resp.Body.Close()
	}
	fmt.Println("== 1. response policies: proposed by Org1's author, approved by both organisations")
	if err := enactPolicies(ctx, o); err != nil {
		return err
	}
	fmt.Println("== 2. replaying telemetry through the gateway (HEC, NDJSON)")
	batches, err := telemetry(o)
	if err != nil {
		return err
	}
	live := newLiveView(o)
	sent := 0
	for i, b := range batches {
		if err := b.send(o); err != nil {
			return fmt.Errorf("%s: %w", b.what, err)
		}
		sent += b.events
		if i%4 == 0 {
			live.print(sent)
		}
		time.Sleep(150 * time.Millisecond) // a steady stream, not one burst
	}
	fmt.Println("== 3. waiting for anchoring, alerts and responses")
	deadline := time.Now().Add(o.settle)
	for time.Now().Before(deadline) {
		live.print(sent)
		time.Sleep(2 * time.Second)
	}
	fmt.Println("== 4. summary")
	return summary(ctx, o, start, sent)
}

// ---------------------------------------------------------------- policies

func enactPolicies(ctx context.Context, o options) error {
	files, err := filepath.Glob(filepath.Join(o.policiesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no policies in %s", o.policiesDir)
	}
	org1, org2 := filepath.Join(o.runDir, "connection-org1.json"), filepath.Join(o.runDir, "connection-org2.json")
	for _, f := range files {
		var p struct {
			ID      string `yaml:"id"`
			Version uint32 `yaml:"version"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if cur := policyOf(o, org1, p.ID, p.Version); cur != nil && cur.State == wire.PolicyActive {
			fmt.Printf("   %-36s v%d already active\n", p.ID, p.Version)
			continue
		} else if cur == nil {
			if out, err := ledgerguard(o, "policy", "propose", f, "--profile", org1, "--identity", "author"); err != nil {
				return fmt.Errorf("propose %s: %v\n%s", p.ID, err, out)
			}
		}
		v := strconv.FormatUint(uint64(p.Version), 10)
		for _, org := range []struct{ msp, profile string }{{"Org1MSP", org1}, {"Org2MSP", org2}} {
			// Approve while the policy still waits for approvals and this
			// org has not approved yet (a re-run, or an org-scoped policy
			// its owner enacts alone).
			cur := policyOf(o, org1, p.ID, p.Version)
			if cur == nil || cur.State != wire.PolicyProposed || approvedBy(cur, org.msp) {
				continue
			}
			if out, err := ledgerguard(o, "policy", "approve", p.ID, v, "--profile", org.profile); err != nil {
				return fmt.Errorf("approve %s as %s: %v\n%s", p.ID, org.profile, err, out)
			}
		}
		fmt.Printf("   %-36s v%d %s\n", p.ID, p.Version, policyState(o, org1, p.ID, p.Version))
	}
	return nil
}

// policyState is the policy version's state, "" when it is not on the ledger.
func policyState(o options, profile, id string, version uint32) string {
	if p := policyOf(o, profile, id, version); p != nil {
		return p.State
	}
	return ""
}

// policyOf reads a policy version from the ledger, nil when it is not there.
func policyOf(o options, profile, id string, version uint32) *wire.Policy {
	out, err := ledgerguard(o, "policy", "show", id, strconv.FormatUint(uint64(version), 10), "--profile", profile, "--json")
	if err != nil {
		return nil
	}
	var p wire.Policy
	if json.Unmarshal([]byte(out), &p) != nil {
		return nil
	}
	return &p
}

// approvedBy reports whether msp's admins approved p.
func approvedBy(p *wire.Policy, msp string) bool {
	for _, a := range p.Approvals {
		if a.MSP == msp {
			return true
		}
	}
	return false
}

func ledgerguard(o options, args ...string) (string, error) {
	cmd := exec.Command(o.bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// --------------------------------------------------------------- telemetry

type batch struct {
	what, path, auth, ctype string
	envs                    []map[string]any
	ndjson                  bool
	events                  int
	header                  []string
}

// body stamps every event with the moment it is sent, so the receiver's
// latency is telemetry-to-action, not time spent waiting in this driver.
func (b batch) body() []byte {
	now := float64(time.Now().UnixNano()) / 1e9
	var body []byte
	for _, e := range b.envs {
		e["time"] = now
		enc, _ := json.Marshal(e)
		body = append(body, enc...)
		if b.ndjson {
			body = append(body, '\n')
		}
	}
	return body
}

func (b batch) send(o options) error {
	payload := b.body()
	req, err := http.NewRequest(http.MethodPost, o.gateway+b.path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", b.auth)
	req.Header.Set("Content-Type", b.ctype)
	for i := 0; i+1 < len(b.header); i += 2 {
		req.Header.Set(b.header[i], b.header[i+1])
	}
	for attempt := 0; ; attempt++ {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		if resp.StatusCode != http.StatusServiceUnavailable || attempt > 20 {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		time.Sleep(time.Second) // backpressure: retry, as shippers do
		req.Body = io.NopCloser(bytes.NewReader(payload))
	}
}

// telemetry builds the replay: each event stamped with the time it is
// sent (HEC "time" / NDJSON "time"), so the receiver can measure
// telemetry-to-action latency.
func telemetry(o options) ([]batch, error) {
	rng := rand.New(rand.NewPCG(7, 25))
	var out []batch
	kdd, err := kddRows(o, rng)
	if err != nil {
		return nil, err
	}
	dns, err := dnsQueries(o, rng)
	if err != nil {
		return nil, err
	}
	ssh, err := sshLines(o)
	if err != nil {
		return nil, err
	}
	hec := func(what string, envs []map[string]any) batch {
		return batch{what: what, path: "/services/collector/event", auth: "Splunk " + o.hecToken, ctype: "application/json",
			envs: envs, events: len(envs), header: []string{"X-Splunk-Request-Channel", "de305d54-75b4-431b-adb2-eb6b9e546014"}}
	}
	// Interleave the three sources in small requests.
	for i := 0; i < max(len(kdd), len(dns), len(ssh)); i += 10 {
		if i < len(kdd) {
			out = append(out, hec("nsl-kdd flows", kdd[i:min(i+10, len(kdd))]))
		}
		if i < len(dns) {
			envs := dns[i:min(i+10, len(dns))]
			out = append(out, batch{what: "dns queries", path: "/v1/events", auth: "Bearer " + o.ndjsonToken, ctype: "application/x-ndjson", envs: envs, ndjson: true, events: len(envs)})
		}
		if i < len(ssh) {
			out = append(out, hec("sshd log", ssh[i:min(i+10, len(ssh))]))
		}
	}
	return out, nil
}

// kddRows picks a mix of normal and attack NSL-KDD test rows, through the
// model's own dataset mapping, spread over a dozen web hosts.
func kddRows(o options, rng *rand.Rand) ([]map[string]any, error) {
	want := map[string]int{"normal": 120, "neptune": 8, "satan": 6, "guess_passwd": 6, "buffer_overflow": 4}
	left := 0
	for _, n := range want {
		left += n
	}
	var rows []map[string]any
	err := replay.NSLKDD(context.Background(), ".", o.dataDir, func(label string, env map[string]any) bool {
		if want[label] > 0 {
			want[label]--
			left--
			env["host"] = fmt.Sprintf("web-%02d", 1+len(rows)%12)
			rows = append(rows, env)
		}
		return left > 0
	})
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows, err
}

func dnsQueries(o options, rng *rand.Rand) ([]map[string]any, error) {
	read := func(name string, n int) ([]string, error) {
		b, err := os.ReadFile(filepath.Join(o.dataDir, "dga-domains", name))
		if err != nil {
			return nil, err
		}
		lines := strings.Fields(string(b))
		return lines[:min(n, len(lines))], nil
	}
	benign, err := read("andrewaeva_alexa_1000.txt", 100)
	if err != nil {
		return nil, err
	}
	dga, err := read("andrewaeva_conficker_1000.txt", 15)
	if err != nil {
		return nil, err
	}
	more, err := read("andrewaeva_tinba_1000.txt", 15)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for i, d := range append(append(benign, dga...), more...) {
		out = append(out, map[string]any{"sourcetype": "dns", "host": "resolver-01", "event": map[string]any{
			"event.category": "network", "dns.question.name": d, "source.ip": fmt.Sprintf("10.20.0.%d", 10+i%40)}})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

func sshLines(o options) ([]map[string]any, error) {
	f, err := os.Open(filepath.Join(o.dataDir, "loghub", "OpenSSH_OpenSSH_2k.log"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < 300 {
		out = append(out, map[string]any{"sourcetype": "linux:auth", "host": "ssh-01", "event": sc.Text()})
	}
	return out, sc.Err()
}

// --------------------------------------------------------------- live view

type liveView struct {
	o     options
	start time.Time
}

func newLiveView(o options) *liveView { return &liveView{o: o, start: time.Now()} }

func (l *liveView) print(sent int) {
	var cp struct {
		Size         uint64 `json:"size"`
		AnchoredSize uint64 `json:"anchored_size"`
	}
	_ = getJSON(l.o.gateway+"/v1/checkpoint", l.o.readToken, &cp)
	st := receiverStats(l.o)
	total := 0
	for _, n := range st.Actions {
		total += n
	}
	fmt.Printf("   t=%5.1fs  events sent %4d  stored %6d  anchored %6d  actions executed %3d\n",
		time.Since(l.start).Seconds(), sent, cp.Size, cp.AnchoredSize, total)
}

type stats struct {
	Actions    map[string]int `json:"actions"`
	Duplicates int            `json:"duplicates"`
	Samples    int            `json:"latency_samples"`
	P50        float64        `json:"latency_p50_ms"`
	P99        float64        `json:"latency_p99_ms"`
}

func receiverStats(o options) stats {
	var st stats
	_ = getJSON(o.receiver+"/stats", "", &st)
	return st
}

func getJSON(url, token string, out any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ----------------------------------------------------------------- summary

func summary(ctx context.Context, o options, start time.Time, sent int) error {
	var cp struct {
		Size         uint64 `json:"size"`
		AnchoredSize uint64 `json:"anchored_size"`
	}
	if err := getJSON(o.gateway+"/v1/checkpoint", o.readToken, &cp); err != nil {
		return err
	}
	fmt.Printf("   events sent %d; gateway log %d events, %d anchored on the ledger\n", sent, cp.Size, cp.AnchoredSize)

	p, err := fabric.LoadProfile(filepath.Join(o.runDir, "connection-org2.json"))
	if err != nil {
		return err
	}
	c, err := fabric.Dial(ctx, p, fabric.WithIdentity("auditor"))
	if err != nil {
		return err
	}
	defer c.Close()
	filter, _ := json.Marshal(wire.AlertFilter{MSP: "Org1MSP", GatewayID: o.gatewayID, Since: wire.NewTime(start)})
	byCat := map[string]int{}
	bookmark := ""
	for range 50 {
		raw, err := c.Contract(wire.Channel, wire.Chaincode, wire.ContractAlerts).EvaluateWithContext(ctx, wire.TxListAlerts,
			client.WithArguments(string(filter), "1000", bookmark))
		if err != nil {
			return fmt.Errorf("ListAlerts: %w", err)
		}
		var page wire.Page[wire.Alert]
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		for _, a := range page.Records {
			byCat[a.Category+" ("+a.Detector.ID+")"]++
		}
		if page.Bookmark == "" {
			break
		}
		bookmark = page.Bookmark
	}
	fmt.Println("   alerts on the ledger by category (model), this run:")
	printCounts(byCat)
	st := receiverStats(o)
	fmt.Println("   actions executed at the demo receiver by type:")
	printCounts(st.Actions)
	fmt.Printf("   duplicate deliveries dropped by idempotency key: %d\n", st.Duplicates)
	fmt.Printf("   telemetry-to-action latency over %d actions: p50 %.0f ms, p99 %.0f ms\n", st.Samples, st.P50, st.P99)
	return nil
}

func printCounts(m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		fmt.Println("     (none)")
	}
	for _, k := range keys {
		fmt.Printf("     %-40s %5d\n", k, m[k])
	}
}
