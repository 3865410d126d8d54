package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

const (
	channelName   = wire.Channel
	chaincodeName = wire.Chaincode
)

// orderers and their operations ports, as scripts/lib.sh lays them out.
var ordererOps = map[string]int{"orderer1": 27052, "orderer2": 27062, "orderer3": 27072}

// dial connects as an enrolled identity of org ("org1" or "org2").
func dial(t testing.TB, org, identity string) *fabric.Client {
	t.Helper()
	p, err := fabric.LoadProfile(filepath.Join(env.runDir, "connection-"+org+".json"))
	if err != nil {
		t.Fatalf("load profile: %v", err)
	}
	var opts []fabric.Option
	if identity != "" {
		opts = append(opts, fabric.WithIdentity(identity))
	}
	c, err := fabric.Dial(context.Background(), p, opts...)
	if err != nil {
		t.Fatalf("dial %s as %q: %v", org, identity, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// network runs scripts/network.sh with the test network's state folder.
func network(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.root, "scripts", "network.sh"), args...)
	cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("network.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("network.sh %s:\n%s", strings.Join(args, " "), out)
	if args[0] == "start-node" && allNodesRunning() {
		waitEndorsable(t)
	}
}

// gatewayIdentity enrols (through scripts/network.sh add-gateway, which is
// idempotent and serialised) the identity of org ("org1" or "org2") bound
// to gatewayID and returns its name for dial or a gateway's
// ledger.identity: the chaincode lets only that identity anchor batches and
// raise alerts for the gateway.
func gatewayIdentity(t testing.TB, org, gatewayID string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.root, "scripts", "network.sh"), "add-gateway", org, gatewayID)
	cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("network.sh add-gateway %s %s: %v\n%s", org, gatewayID, err, stderr.Bytes())
	}
	name := strings.TrimSpace(string(out))
	if want := "gateway-" + gatewayID; name != want {
		t.Fatalf("network.sh add-gateway %s %s printed %q, want %q", org, gatewayID, name, want)
	}
	return name
}

// allNodesRunning reports whether every node of the test network runs.
func allNodesRunning() bool {
	cmd := exec.Command(filepath.Join(env.root, "scripts", "network.sh"), "status")
	cmd.Env = append(cmd.Environ(), "LEDGERGUARD_RUN_DIR="+env.runDir)
	return cmd.Run() == nil
}

// waitEndorsable waits (bounded) until transactions needing both orgs'
// endorsement succeed again from each org: a restarted peer answers its
// health check before the other org's peer has rediscovered it through
// gossip, and the next test must not start in that window.
func waitEndorsable(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, org := range []string{"org1", "org2"} {
		c := dial(t, org, "gateway")
		contract := c.Contract(channelName, chaincodeName, wire.ContractSystem)
		ok := 0
		for ok < 3 {
			if ctx.Err() != nil {
				t.Fatalf("transactions from %s are not endorsed by both orgs 90s after a restart", org)
			}
			if _, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments("after restart")); err != nil {
				ok = 0
				time.Sleep(250 * time.Millisecond)
				continue
			}
			ok++
		}
	}
}

// height returns the channel's block height as seen by the client's peer.
func height(ctx context.Context, c *fabric.Client) (uint64, error) {
	raw, err := c.Gateway().GetNetwork(channelName).GetContract("qscc").EvaluateWithContext(ctx, "GetChainInfo",
		client.WithArguments(channelName))
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(raw, &info); err != nil {
		return 0, fmt.Errorf("decode chain info: %w", err)
	}
	return info.GetHeight(), nil
}

// raftLeader returns the orderer that reports itself etcdraft leader of the
// channel on its operations endpoint, polling until one does (bounded).
func raftLeader(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for name, port := range ordererOps {
			if isLeader(port) {
				return name
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal("no orderer reports raft leadership within 30s")
	return ""
}

func isLeader(port int) bool {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "consensus_etcdraft_is_leader{") && strings.Contains(line, `channel="`+channelName+`"`) {
			return strings.HasSuffix(line, " 1")
		}
	}
	return false
}

// fabricDetails returns an error's message with the peers' details, where
// the chaincode's own error text travels.
func fabricDetails(err error) string {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		for _, d := range s.Details() {
			if ed, ok := d.(interface{ GetMessage() string }); ok {
				msg += "; " + ed.GetMessage()
			}
		}
	}
	return msg
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
