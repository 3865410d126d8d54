package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stallCommitStatus is the gateway's commit-status timeout in the stall
// test: short, so that a transaction the orderers lost is submitted again
// within the test's bound.
const stallCommitStatus = 10 * time.Second

// signalNode sends sig to a network node's process group, as
// scripts/network.sh stop-node does (the node's pid file in the run
// folder).
func signalNode(t *testing.T, node string, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.runDir, node, "pid"))
	if err != nil {
		t.Fatalf("%s: pid file: %v", node, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: pid file: %v", node, err)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("%s: kill -%d %d: %v", node, sig, pid, err)
		}
	}
}

// TestChaosOrdererStall stalls the raft leader (SIGSTOP for longer than
// the election timeout, then SIGCONT: the box stalling the process, as a
// 1.5 s WAL sync on a loaded machine did) and kills it (SIGKILL, restart)
// while events stream in, and checks after each fault that the gateway
// anchors everything it had logged by then within a bound: its
// commit-status timeout (a transaction the old leader accepted and lost
// in the leader change is submitted again after it) plus the time to
// anchor a backlog. Before the commit-status wait was bounded, a lost
// anchoring transaction left the anchorer waiting for ever and ingest
// answering 503. At the end every acknowledged event is anchored once.
func TestChaosOrdererStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{batchMaxEvents: 2000, batchMaxWait: 100 * time.Millisecond,
		ledgerTimeouts: "{commit_status: " + stallCommitStatus.String() + "}"})
	s := startStreamer(g)
	stopped := map[string]bool{}
	defer func() {
		for node, down := range stopped {
			if down {
				signalNode(t, node, syscall.SIGCONT)
				network(t, "start-node", node)
			}
		}
	}()
	const bound = stallCommitStatus + 60*time.Second
	// Kills lose the transactions the leader had accepted and not yet
	// replicated more often than stalls do (which is what left the
	// anchorer stuck before the bound): three of them.
	faults := []string{"stall", "kill", "stall", "kill", "kill"}
	for i, fault := range faults {
		time.Sleep(3 * time.Second) // load, with transactions in flight
		leader := raftLeader(t)
		var cp checkpoint
		if st := g.getJSON("/v1/checkpoint", &cp); st != http.StatusOK {
			t.Fatalf("checkpoint: status %d", st)
		}
		start := time.Now()
		switch fault {
		case "stall":
			// 6 s: longer than the randomised election timeout (2.5 to 5 s:
			// ElectionTick 10 x TickInterval 250 ms in
			// network/configtx.yaml), so the other two elect a new leader
			// while this one is frozen.
			signalNode(t, leader, syscall.SIGSTOP)
			stopped[leader] = true
			time.Sleep(6 * time.Second)
			signalNode(t, leader, syscall.SIGCONT)
			stopped[leader] = false
		case "kill":
			stopped[leader] = true
			network(t, "stop-node", leader, "--kill")
			time.Sleep(4 * time.Second)
			network(t, "start-node", leader)
			stopped[leader] = false
		}
		deadline := start.Add(bound)
		var now checkpoint
		for {
			if g.getJSON("/v1/checkpoint", &now) == http.StatusOK && now.AnchoredSize >= cp.Size {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("fault %d (%s of %s): anchored size %d after %v, want >= %d (the log size at the fault); the anchorer is stuck\n%s",
					i, fault, leader, now.AnchoredSize, bound, cp.Size, tail(g.log(), 40))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("fault %d: %s of raft leader %s; the %d events logged before it anchored %.1f s after it began (new leader %s)",
			i, fault, leader, cp.Size, time.Since(start).Seconds(), raftLeader(t))
	}
	acked := s.finish()
	s.mu.Lock()
	refused := s.refused
	s.mu.Unlock()
	t.Logf("%d events acknowledged, %d requests refused (backpressure) during the faults; commit-status timeouts in the gateway log: %d",
		len(acked), refused, strings.Count(g.log(), "no commit within"))
	checkAnchoredExactlyOnce(ctx, t, g, acked)
}
