package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

type heartbeat struct {
	MSPID string    `json:"msp_id"`
	TxID  string    `json:"tx_id"`
	Time  time.Time `json:"time"`
	Note  string    `json:"note"`
}

func submitHeartbeat(ctx context.Context, t testing.TB, c interface {
	Contract(string, string, string) *client.Contract
}, note string) heartbeat {
	t.Helper()
	out, err := c.Contract(channelName, chaincodeName, wire.ContractSystem).SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments(note))
	if err != nil {
		t.Fatalf("submit Heartbeat(%q): %v", note, err)
	}
	var hb heartbeat
	if err := json.Unmarshal(out, &hb); err != nil {
		t.Fatalf("decode heartbeat %s: %v", out, err)
	}
	return hb
}

func getHeartbeat(ctx context.Context, c interface {
	Contract(string, string, string) *client.Contract
}, msp, txID string) (heartbeat, error) {
	out, err := c.Contract(channelName, chaincodeName, wire.ContractSystem).EvaluateWithContext(ctx, wire.TxGetHeartbeat, client.WithArguments(msp, txID))
	if err != nil {
		return heartbeat{}, err
	}
	var hb heartbeat
	err = json.Unmarshal(out, &hb)
	return hb, err
}

// eventuallyHeartbeat reads a heartbeat on a peer that may commit the block
// a moment after the submitting client's peer did (bounded wait).
func eventuallyHeartbeat(ctx context.Context, c interface {
	Contract(string, string, string) *client.Contract
}, msp, txID string) (heartbeat, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		hb, err := getHeartbeat(ctx, c, msp, txID)
		if err == nil || time.Now().After(deadline) {
			return hb, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSubmitAndEvaluateAsEachOrg: a transaction submitted by either org is
// endorsed by both, committed, and readable on the other org's peer.
func TestSubmitAndEvaluateAsEachOrg(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org1 := dial(t, "org1", "gateway")
	org2 := dial(t, "org2", "gateway")
	tests := []struct {
		name           string
		writer, reader interface {
			Contract(string, string, string) *client.Contract
		}
		wantMSP string
	}{
		{"Org1 writes, Org2 reads", org1, org2, "Org1MSP"},
		{"Org2 writes, Org1 reads", org2, org1, "Org2MSP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb := submitHeartbeat(ctx, t, tt.writer, tt.name)
			if hb.MSPID != tt.wantMSP {
				t.Fatalf("heartbeat msp = %q, want %q", hb.MSPID, tt.wantMSP)
			}
			got, err := eventuallyHeartbeat(ctx, tt.reader, tt.wantMSP, hb.TxID)
			if err != nil {
				t.Fatalf("evaluate GetHeartbeat on the other org's peer: %v", err)
			}
			if got != hb {
				t.Fatalf("read back %+v, want %+v", got, hb)
			}
		})
	}
}

// TestOrdererLeaderDownStillCommits stops the raft leader (the hardest of
// the three to lose) and checks transactions still commit, then restarts it.
func TestOrdererLeaderDownStillCommits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := dial(t, "org1", "gateway")
	submitHeartbeat(ctx, t, c, "before orderer stop")

	leader := raftLeader(t)
	network(t, "stop-node", leader)
	restarted := false
	defer func() {
		if !restarted {
			network(t, "start-node", leader)
		}
	}()
	// The two remaining orderers elect a new leader within a few seconds
	// (ElectionTick x TickInterval); until then they refuse broadcasts with
	// UNAVAILABLE, which clients treat as transient. After it, every
	// transaction must commit at the first attempt.
	t.Logf("new raft leader after stopping %s: %s", leader, raftLeader(t))
	for i := range 5 {
		hb := submitHeartbeat(ctx, t, c, fmt.Sprintf("with %s down #%d", leader, i))
		if _, err := eventuallyHeartbeat(ctx, dial(t, "org2", "auditor"), "Org1MSP", hb.TxID); err != nil {
			t.Fatalf("heartbeat %s committed with %s down is not on Org2's peer: %v", hb.TxID, leader, err)
		}
	}
	network(t, "start-node", leader)
	restarted = true
	if newLeader := raftLeader(t); newLeader == "" {
		t.Fatal("no raft leader after restart")
	}
	submitHeartbeat(ctx, t, c, "after orderer restart")
}

// TestPeerKilledCatchesUp kills Org2's peer with SIGKILL, lets the channel
// grow while it is down, restarts it and checks it reaches the same height
// and serves the chaincode again.
func TestPeerKilledCatchesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	org1 := dial(t, "org1", "gateway")
	network(t, "stop-node", "peer0.org2", "--kill")
	restarted := false
	defer func() {
		if !restarted {
			network(t, "start-node", "peer0.org2")
		}
	}()

	// With Org2's peer down no transaction can satisfy the both-orgs
	// endorsement policy, but the ledger still grows: transactions endorsed
	// by Org1 alone are ordered into blocks and marked invalid. That is the
	// honest way to make blocks the stopped peer must catch up on.
	contract := org1.Contract(channelName, chaincodeName, wire.ContractSystem)
	const whileDown = 5
	for i := range whileDown {
		_, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat,
			client.WithArguments(fmt.Sprintf("while peer0.org2 down #%d", i)),
			client.WithEndorsingOrganizations("Org1MSP"))
		var commitErr *client.CommitError
		if !errors.As(err, &commitErr) {
			t.Fatalf("submit endorsed by Org1 only: got %v, want a CommitError", err)
		}
		if commitErr.Code != peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE {
			t.Fatalf("validation code = %v, want ENDORSEMENT_POLICY_FAILURE", commitErr.Code)
		}
	}
	want, err := height(ctx, org1)
	if err != nil {
		t.Fatalf("height on Org1: %v", err)
	}

	network(t, "start-node", "peer0.org2")
	restarted = true
	org2 := dial(t, "org2", "auditor")
	var got uint64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = height(ctx, org2); err == nil && got >= want {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got < want {
		t.Fatalf("Org2's peer height = %d after restart, want >= %d (last error: %v)", got, want, err)
	}
	hb := submitHeartbeat(ctx, t, org1, "after peer0.org2 restart")
	if _, err := eventuallyHeartbeat(ctx, org2, "Org1MSP", hb.TxID); err != nil {
		t.Fatalf("restarted peer does not serve new data: %v", err)
	}
}

// TestScriptsRefuseBadInput: the scripts answer bad input with a clear
// message and a non-zero exit, and leave the running network untouched.
func TestScriptsRefuseBadInput(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"unknown command", "network.sh", []string{"frobnicate"}, 2, "unknown command"},
		{"network already up", "network.sh", []string{"up"}, 1, "already up"},
		{"unknown node", "network.sh", []string{"stop-node", "peer9"}, 1, "unknown node"},
		{"node already running", "network.sh", []string{"start-node", "orderer1"}, 1, "already running"},
		{"unknown lifecycle command", "chaincode.sh", []string{"redeploy"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(env.root, "scripts", tt.script), tt.args...)
			cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.wantCode {
				t.Fatalf("%s %v: err %v, want exit code %d\n%s", tt.script, tt.args, err, tt.wantCode, out)
			}
			if !strings.Contains(string(out), tt.wantMsg) {
				t.Fatalf("%s %v said %q, want it to mention %q", tt.script, tt.args, out, tt.wantMsg)
			}
		})
	}
	if !allNodesRunning() {
		t.Fatal("a refused command changed the running network")
	}
	// Deploying what is already deployed is a no-op that says so.
	cmd := exec.Command(filepath.Join(env.root, "scripts", "chaincode.sh"), "deploy")
	cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already deployed") || !strings.Contains(string(out), "package_id=") {
		t.Fatalf("repeated deploy: %v\n%s", err, out)
	}
}
