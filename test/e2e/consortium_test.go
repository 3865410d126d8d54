package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// orgScript runs scripts/org.sh on the test network and returns its
// combined output and exit code.
func orgScript(t testing.TB, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.root, "scripts", "org.sh"), args...)
	cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("org.sh %v: %v", args, err)
		return "", -1
	}
}

// ledgerMembers reads the consortium membership record.
func ledgerMembers(ctx context.Context, t *testing.T, c *fabric.Client) []string {
	t.Helper()
	var m wire.Members
	evaluateJSON(ctx, t, c, wire.ContractConsortium, wire.TxGetMembers, &m)
	return m.MSPs
}

// TestConsortiumJoinAndLeave (issue 14): Org3 joins the running network
// while a gateway anchors a stream (nothing lost, nothing anchored twice,
// anchoring goes on during the join), its connection profile works with the
// Go client, its admin's approval counts toward a policy's majority of
// three, it cannot leave while a response of its own awaits approval,
// and once it left its admin's submissions are refused. Refused
// operations (an org that is already a member, a channel update signed by
// too few members, a non-member removed) exit non-zero with a message and
// change nothing. The test leaves the network as it found it: Org1 and
// Org2.
func TestConsortiumJoinAndLeave(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	author1 := dial(t, "org1", "author")
	if got, want := ledgerMembers(ctx, t, admin1), []string{"Org1MSP", "Org2MSP"}; !slices.Equal(got, want) {
		t.Fatalf("members before the test = %v, want %v", got, want)
	}

	t.Run("refused", func(t *testing.T) {
		before, err := height(ctx, admin1)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			args     []string
			wantCode int
			wantMsg  string
		}{
			{"no org", []string{"add"}, 2, "usage"},
			{"invalid org name", []string{"add", "acme"}, 2, "invalid organisation"},
			{"org already a member", []string{"add", "org1"}, 1, "already a member"},
			{"update signed by too few members", []string{"add", "org4", "--signers", "org1"}, 1, "1 sub-policies were satisfied, but this policy requires 2"},
			{"remove a non-member", []string{"remove", "org5"}, 1, "not a member"},
			{"removal signed by too few members", []string{"remove", "org2", "--signers", "org1"}, 1, "needs the signatures of a majority"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, code := orgScript(t, tt.args...)
				if code != tt.wantCode || !strings.Contains(out, tt.wantMsg) {
					t.Fatalf("org.sh %v: exit %d, want %d with %q\n%s", tt.args, code, tt.wantCode, tt.wantMsg, out)
				}
			})
		}
		after, err := height(ctx, admin1)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("refused operations changed the channel: height %d → %d", before, after)
		}
		if got, want := ledgerMembers(ctx, t, admin1), []string{"Org1MSP", "Org2MSP"}; !slices.Equal(got, want) {
			t.Errorf("members after refused operations = %v, want %v", got, want)
		}
		if !allNodesRunning() {
			t.Error("a refused operation stopped a node")
		}
	})

	// Org3 joins while a gateway anchors a steady stream.
	g := newGateway(t, gatewayOpts{batchMaxEvents: 500, batchMaxWait: 100 * time.Millisecond})
	s := startStreamer(g)
	time.Sleep(time.Second)
	joined := false
	t.Cleanup(func() {
		if joined {
			if out, code := orgScript(t, "remove", "org3"); code != 0 {
				t.Errorf("cleanup: org.sh remove org3: exit %d\n%s", code, out)
			}
		}
	})
	var cpBefore, cpAfter checkpoint
	g.getJSON("/v1/checkpoint", &cpBefore)
	start := time.Now()
	out, code := orgScript(t, "add", "org3")
	took := time.Since(start)
	if code != 0 {
		s.finish()
		t.Fatalf("org.sh add org3: exit %d\n%s", code, out)
	}
	joined = true
	g.getJSON("/v1/checkpoint", &cpAfter)
	t.Logf("Org3 joined in %s; anchored %d → %d events during the join", took.Round(100*time.Millisecond), cpBefore.AnchoredSize, cpAfter.AnchoredSize)
	if cpAfter.AnchoredSize <= cpBefore.AnchoredSize {
		t.Errorf("anchoring stopped during the join: anchored %d before, %d after", cpBefore.AnchoredSize, cpAfter.AnchoredSize)
	}
	if got, want := ledgerMembers(ctx, t, admin1), []string{"Org1MSP", "Org2MSP", "Org3MSP"}; !slices.Equal(got, want) {
		t.Fatalf("members after the join = %v, want %v", got, want)
	}

	// Org3's connection profile, with the Go client: its gateway identity
	// commits (endorsed by a majority of three), its admin reads.
	gw3 := dial(t, "org3", "gateway")
	admin3 := dial(t, "org3", "")
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := gw3.Contract(channelName, chaincodeName, wire.ContractSystem).SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments("org3 joined"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Org3's gateway identity cannot commit 60 s after the join: %s", fabricDetails(err))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := ledgerMembers(ctx, t, admin3); !slices.Contains(got, "Org3MSP") {
		t.Fatalf("members read through Org3's peer = %v", got)
	}

	// A GREEN share endorsed by Org1 and Org2 alone reaches Org3's peer:
	// the intelShared collection pushes no values at endorsement
	// (maxPeerCount 0, scripts/collections.sh), so a member's peer that
	// did not endorse pulls them from the endorsers while committing.
	t.Run("GREEN values reach a peer that did not endorse", func(t *testing.T) {
		key := intelKey(t)
		domain := "org3-pull-" + run + ".example"
		share, values, err := intel.Prepare("Org1MSP", key, []intel.Input{{
			Type: wire.IndicatorDomain, Value: domain, Confidence: 80, TLP: wire.TLPGreen,
			ValidFrom: time.Now().UTC().Add(-time.Hour), StixID: "indicator--org3-" + run,
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		share.Indicators[0].ValueHash = values[0].ValueHash()
		transient := map[string][]byte{
			wire.TransientIntelValues: []byte(mustJSON(t, values)),
			wire.TransientIntelKey:    []byte(mustJSON(t, key.Wire())),
		}
		sharer := dial(t, "org1", "intel").Contract(channelName, chaincodeName, wire.ContractIntel)
		if _, err := sharer.SubmitWithContext(ctx, wire.TxShareIndicators,
			client.WithArguments(mustJSON(t, wire.IndicatorShare{Indicators: share.Indicators})),
			client.WithTransient(transient), client.WithEndorsingOrganizations("Org1MSP", "Org2MSP")); err != nil {
			t.Fatalf("share endorsed by Org1 and Org2: %s", fabricDetails(err))
		}
		got := readEventually(ctx, t, intelLedger(t, "org3", ""), share.Indicators[0].ID,
			func(ind wire.Indicator, err error) bool { return err == nil && ind.Value != "" })
		if got.Value != domain || got.SharedBy != "Org1MSP" {
			t.Fatalf("Org3 reads %+v, want value %s shared by Org1MSP", got, domain)
		}
	})

	time.Sleep(time.Second)
	acked := s.finish()
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged during the join")
	}
	checkAnchoredExactlyOnce(ctx, t, g, acked)

	// Org3's admin approves a consortium policy: with three members the
	// majority is two, and Org3's approval is the second.
	p := wire.Policy{
		ID: "org3-" + run, Version: 1, Mode: wire.ModeEnforce, ResponseApprovals: 1,
		Condition: fmt.Sprintf(`alert.gateway == %q`, "org3-gw-"+run),
		Actions:   []wire.Action{{Type: wire.ActionMFAChallenge, Params: map[string]string{"principal": "{{alert.principal}}"}}},
	}
	var got wire.Policy
	rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, &got, mustJSON(t, p))
	revokeLater(t, author1, p.ID)
	if got.Quorum != 2 {
		t.Fatalf("proposed among three members: quorum %d, want the majority 2", got.Quorum)
	}
	rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
	if got.State != wire.PolicyProposed {
		t.Fatalf("after Org1's approval alone the policy is %q, want proposed", got.State)
	}
	rspSubmit(ctx, t, admin3, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
	if got.State != wire.PolicyActive {
		t.Fatalf("after Org1's and Org3's approvals the policy is %q, want active (approvals %+v)", got.State, got.Approvals)
	}

	// A response for an Org3 alert awaits approval: Org3 cannot leave yet.
	gwID := "org3-gw-" + run
	gwOrg3 := dial(t, "org3", gatewayIdentity(t, "org3", gwID))
	now := time.Now().UTC()
	model := wire.Model{ID: "org3-model", Version: "1", SHA256: sha(run + "model")}
	batch := wire.Batch{
		MSP: "Org3MSP", GatewayID: gwID, TreeSizeBefore: 0, TreeSizeAfter: 1, RootHash: sha(run),
		FirstSeq: 0, LastSeq: 0, FirstEventTime: wire.NewTime(now.Add(-time.Minute)), LastEventTime: wire.NewTime(now),
		ClassCounts: map[string]uint64{"auth": 1}, Models: []wire.Model{model},
	}
	batch.ID = wire.BatchID(batch.MSP, gwID, 0, 1, batch.RootHash)
	rspSubmit(ctx, t, gwOrg3, wire.ContractEvents, wire.TxAnchorBatch, nil, mustJSON(t, batch))
	eh := sha(run + "event")
	alert := wire.Alert{
		ID: wire.AlertID("Org3MSP", gwID, eh, model.ID, model.Version), MSP: "Org3MSP", GatewayID: gwID,
		EventHash: eh, BatchID: batch.ID, EventTime: wire.NewTime(now.Add(-time.Second)), Detector: model,
		Score: 0.97, Severity: wire.SeverityHigh, Category: "org3-brute", Asset: "host-org3", Principal: "pseudo-org3",
	}
	rspSubmit(ctx, t, gwOrg3, wire.ContractAlerts, wire.TxRaiseAlerts, nil, mustJSON(t, []wire.Alert{alert}))
	responseID := wire.ResponseID(alert.ID, p.ID, 1)
	if r := rspResponse(ctx, t, admin1, responseID); r.State != wire.ResponseAwaitingApproval || r.MSP != "Org3MSP" {
		t.Fatalf("response %s: state %q msp %q, want awaiting-approval for Org3MSP", responseID, r.State, r.MSP)
	}
	out, code = orgScript(t, "remove", "org3")
	if code != 1 || !strings.Contains(out, "awaiting approval") {
		t.Fatalf("org.sh remove org3 with an open response: exit %d, want 1 naming the responses\n%s", code, out)
	}
	if got := ledgerMembers(ctx, t, admin1); !slices.Contains(got, "Org3MSP") {
		t.Fatalf("a refused removal changed the membership: %v", got)
	}
	rspSubmit(ctx, t, admin3, wire.ContractResponses, wire.TxApproveResponse, nil, responseID)

	// Org3 leaves; keep its profile to try its identities afterwards.
	profile3, err := os.ReadFile(filepath.Join(env.runDir, "connection-org3.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, code = orgScript(t, "remove", "org3")
	if code != 0 {
		t.Fatalf("org.sh remove org3: exit %d\n%s", code, out)
	}
	joined = false
	if got, want := ledgerMembers(ctx, t, admin2), []string{"Org1MSP", "Org2MSP"}; !slices.Equal(got, want) {
		t.Fatalf("members after Org3 left = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(env.runDir, "connection-org3.json")); !os.IsNotExist(err) {
		t.Errorf("Org3's connection profile is still there after it left (stat: %v)", err)
	}

	// Org3's admin, through Org1's peer (its own peer is gone): refused.
	c := org3ViaOrg1(t, profile3)
	_, err = c.Contract(channelName, chaincodeName, wire.ContractSystem).SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments("org3 left"))
	if err == nil {
		t.Fatal("Org3's admin submitted a transaction after Org3 left the channel")
	}
	t.Logf("Org3's admin after it left: %s", fabricDetails(err))
	waitEndorsable(t)
}

// org3ViaOrg1 dials Org1's peer with Org3's admin identity, from Org3's
// connection profile with its peer replaced by Org1's.
func org3ViaOrg1(t *testing.T, profile3 []byte) *fabric.Client {
	t.Helper()
	var p3, p1 map[string]any
	if err := json.Unmarshal(profile3, &p3); err != nil {
		t.Fatal(err)
	}
	raw1, err := os.ReadFile(filepath.Join(env.runDir, "connection-org1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw1, &p1); err != nil {
		t.Fatal(err)
	}
	p3["peers"] = p1["peers"]
	p3["channels"] = p1["channels"]
	org := p3["organizations"].(map[string]any)["Org3"].(map[string]any)
	org["peers"] = p1["organizations"].(map[string]any)["Org1"].(map[string]any)["peers"]
	path := filepath.Join(t.TempDir(), "org3-via-org1.json")
	if err := os.WriteFile(path, []byte(mustJSON(t, p3)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := fabric.LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fabric.Dial(context.Background(), p)
	if err != nil {
		t.Fatalf("dial Org1's peer as Org3's admin: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
