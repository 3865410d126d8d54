package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// TestMultiHost (issue 14) is the whole story with every organisation on a
// host of its own: the orderers and each org's peer in their own network
// namespace with their own RFC 2544 address (scripts/netns.sh), the
// gateway and this test in the client namespace, nothing dialled on
// 127.0.0.1 between them. Org3 joins; a real gateway anchors NSL-KDD
// attack rows and raises alerts; a consortium policy approved by Org1 and
// Org2 (a majority of three) requests a response that waits for two
// organisations' approvals, is released and executed by the gateway's
// responder; then every process of Org3's namespace is killed and the
// remaining majority keeps committing (a heartbeat, more anchored events).
//
// It runs in make test's multi-host stage (scripts/test.sh starts the
// namespaced network with `network.sh up --netns` and runs this test inside
// the client namespace with LEDGERGUARD_MULTIHOST=1); the loopback stage
// has no namespaces to test.
func TestMultiHost(t *testing.T) {
	if os.Getenv("LEDGERGUARD_MULTIHOST") != "1" {
		t.Skip("runs in the multi-host stage of make test (network in namespaces, LEDGERGUARD_MULTIHOST=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())

	profile, err := fabric.LoadProfile(filepath.Join(env.runDir, "connection-org1.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profile.Peers {
		if !strings.Contains(p.URL, "198.18.") {
			t.Fatalf("peer %s is at %s: the multi-host network must not use loopback", name, p.URL)
		}
	}

	began := time.Now()
	if out, code := orgScript(t, "add", "org3"); code != 0 {
		t.Fatalf("org.sh add org3: exit %d\n%s", code, out)
	}
	t.Logf("FIGURE multihost_add_org_s %.1f", time.Since(began).Seconds())
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	author1 := dial(t, "org1", "author")
	if got := ledgerMembers(ctx, t, admin1); !slices.Contains(got, "Org3MSP") {
		t.Fatalf("members after the join = %v, want Org3MSP among them", got)
	}

	// A consortium policy of this run: an incident for each of this
	// gateway's alerts, released only after two organisations approve it.
	gwID := "mh-" + run
	policy := wire.Policy{ID: "mh-inc-" + run, Version: 1, Mode: wire.ModeEnforce, ResponseApprovals: 2,
		Condition: fmt.Sprintf(`alert.gateway == %q`, gwID),
		Actions:   []wire.Action{{Type: wire.ActionOpenIncident, Params: map[string]string{"title": "alert {{alert.id}}"}}}}
	rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSONString(t, policy))
	rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, policy.ID, "1")
	var enacted wire.Policy
	rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, &enacted, policy.ID, "1")
	if enacted.State != wire.PolicyActive {
		t.Fatalf("policy after Org1's and Org2's approvals is %q, want active (a majority of three)", enacted.State)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if _, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(cctx, wire.TxRevokePolicy,
			client.WithArguments(policy.ID, "1", "end of multi-host run "+run)); err != nil {
			t.Logf("revoke %s: %s", policy.ID, fabricDetails(err))
		}
	})

	receiver, srv := newActionReceiver(t)
	state := t.TempDir()
	g := newGateway(t, gatewayOpts{detection: true, nonStrict: true, id: gwID, extraConfig: fmt.Sprintf(`respond:
  enabled: true
  gateway_ids: [%s]
  checkpoint_file: %s
  journal_file: %s
  workers: 4
  timeout: 5s
  retry: {attempts: 5, initial_backoff: 100ms, max_backoff: 1s}
  ledger_backoff: 2s
  actions:
    open_incident:
      rest:
        url: %s/ticket
        body: '{"response": {{json .Request.ResponseID}}}'
`, gwID, filepath.Join(state, "respond.checkpoint"), filepath.Join(state, "respond.journal"), srv.URL)})

	status, resp := g.post("/services/collector/event", "Splunk "+hecToken, "application/json", kddEvents(t, "neptune", 10),
		"X-Splunk-Request-Channel", "5a1d1b2c-0000-4000-8000-00000000e14e")
	if status != http.StatusOK {
		t.Fatalf("HEC status %d: %s", status, resp)
	}
	g.waitAnchored(ctx, 10)

	// The alerts' responses wait for two approvals; Org1 and Org2 give them.
	var awaiting []wire.Response
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && len(awaiting) == 0 {
		var page wire.Page[wire.Response]
		evaluateJSON(ctx, t, admin1, wire.ContractResponses, wire.TxListResponses, &page,
			mustJSON(t, wire.ResponseFilter{PolicyID: policy.ID, State: wire.ResponseAwaitingApproval}), "100", "")
		awaiting = page.Records
		if len(awaiting) == 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if len(awaiting) == 0 {
		t.Fatalf("no response of policy %s awaits approval within 90 s\n%s", policy.ID, g.log())
	}
	first := awaiting[0]
	rspSubmit(ctx, t, admin1, wire.ContractResponses, wire.TxApproveResponse, nil, first.ID, "approved on host org1")
	rspSubmit(ctx, t, admin2, wire.ContractResponses, wire.TxApproveResponse, nil, first.ID, "approved on host org2")
	done := waitState(ctx, t, admin1, first.ID, wire.ResponseSucceeded, 90*time.Second)
	if calls, _ := receiver.count("/ticket", first.ID); calls == 0 {
		t.Fatalf("response %s is %s but the ticket connector was never called with its id as idempotency key", first.ID, done.State)
	}

	// Org3's host goes down: every process in its namespace is killed.
	out, err := exec.Command("ip", "netns", "pids", "lg-org3").Output()
	if err != nil {
		t.Fatalf("ip netns pids lg-org3: %v", err)
	}
	killed := 0
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatal("no process ran in Org3's namespace")
	}
	t.Logf("killed %d processes of Org3's host", killed)

	// Org1 and Org2 are still a majority: submits commit, anchoring goes on.
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))
	var lat []time.Duration
	for i := range 30 {
		t0 := time.Now()
		if _, err := submitRetry(ctx, t, gw1, wire.ContractSystem, wire.TxHeartbeat, fmt.Sprintf("org3 down %d", i)); err != nil {
			t.Fatalf("heartbeat with Org3's host down: %s", fabricDetails(err))
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	t.Logf("FIGURE multihost_submit_p50_ms %.1f", float64(lat[len(lat)/2].Microseconds())/1000)
	t.Logf("FIGURE multihost_submit_p99_ms %.1f", float64(lat[len(lat)*99/100].Microseconds())/1000)
	status, resp = g.post("/services/collector/event", "Splunk "+hecToken, "application/json", kddEvents(t, "normal", 10),
		"X-Splunk-Request-Channel", "5a1d1b2c-0000-4000-8000-00000000e14f")
	if status != http.StatusOK {
		t.Fatalf("HEC status %d after Org3 went down: %s", status, resp)
	}
	g.waitAnchored(ctx, 20)
}
