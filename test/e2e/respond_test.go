package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
	"github.com/ledgerguard/ledgerguard/gateway/connector/notify"
	"github.com/ledgerguard/ledgerguard/gateway/connector/rest"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// actionReceiver stands in for the EDR, identity provider, incident
// platform and chat: it counts calls per Idempotency-Key and, like a
// receiver that honours the key, executes each key at most once.
type actionReceiver struct {
	mu       sync.Mutex
	calls    map[string]int // per path and key
	executed map[string]int
	delay    time.Duration
}

func newActionReceiver(t *testing.T) (*actionReceiver, *httptest.Server) {
	r := &actionReceiver{calls: map[string]int{}, executed: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.URL.Path + " " + req.Header.Get(connector.IdempotencyHeader)
		r.mu.Lock()
		r.calls[key]++
		delay := r.delay
		r.mu.Unlock()
		if strings.HasPrefix(req.URL.Path, "/incident") { // this tool is down
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		time.Sleep(delay)
		r.mu.Lock()
		r.executed[key]++ // a replayed key is answered, not executed again
		if r.executed[key] > 1 {
			r.executed[key] = 1
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"job-%d"}`, time.Now().UnixNano())
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *actionReceiver) count(path, key string) (calls, executed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[path+" "+key], r.executed[path+" "+key]
}

func (r *actionReceiver) setDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// runningResponder is an in-process responder that a test can kill.
type runningResponder struct {
	cancel context.CancelFunc
	done   chan error
	events *fabric.Events
}

func startResponder(t *testing.T, gw *fabric.Client, cfg respond.Config, conns map[string]connector.Connector) *runningResponder {
	t.Helper()
	cp, err := respond.OpenCheckpoint(cfg.CheckpointFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ledger := fabric.NewLedger(gw, channelName, chaincodeName)
	events := fabric.NewEvents(ledger, cp, cfg.StartBlock)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := respond.New(cfg, gw.MSPID(), ledger, events, conns, respond.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &runningResponder{cancel: cancel, done: make(chan error, 1), events: events}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.kill(t) })
	return rr
}

// kill cancels the responder abruptly (work in flight is cut off).
func (rr *runningResponder) kill(t *testing.T) {
	if rr.cancel == nil {
		return
	}
	rr.cancel()
	rr.cancel = nil
	select {
	case err := <-rr.done:
		if err != nil {
			t.Errorf("responder Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("responder did not stop within 30s of cancellation")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rspSubmit submits and waits for the commit. Every call it makes is
// idempotent, so it retries what a shared, busy network makes transient:
// endorsements that differ because the two orgs' peers are at different
// heights (a RaiseAlerts right after another one for the same batch reads
// the batch's alert sets), and MVCC conflicts.
func rspSubmit(ctx context.Context, t *testing.T, c *fabric.Client, contract, fn string, out any, args ...string) {
	t.Helper()
	res, err := submitRetry(ctx, t, c, contract, fn, args...)
	if err != nil {
		t.Fatalf("%s as %s: %s", fn, c.MSPID(), fabricDetails(err))
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("%s result %s: %v", fn, res, err)
		}
	}
}

// submitRetry submits and waits until every member's peer holds the
// block that committed it (waitPeersAt), so what the test reads or
// endorses next never meets a peer one block behind. It retries up to
// five times what is transient on a shared network anyway: endorsers at
// different heights after another test's commit (their payloads differ,
// or the one behind refuses NOT_FOUND) and read conflicts with a
// concurrent test.
func submitRetry(ctx context.Context, t testing.TB, c *fabric.Client, contract, fn string, args ...string) ([]byte, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		res, block, err := submitAt(ctx, c, contract, fn, args...)
		if err == nil {
			waitPeersAt(ctx, t, block)
			return res, nil
		}
		msg := fabricDetails(err)
		behind := strings.Contains(msg, "failed to collect enough transaction endorsements") && strings.Contains(msg, "NOT_FOUND")
		if attempt == 5 || !(behind || strings.Contains(msg, "ProposalResponsePayloads do not match") ||
			strings.Contains(msg, "MVCC_READ_CONFLICT") || strings.Contains(msg, "PHANTOM_READ_CONFLICT")) {
			return res, err
		}
		t.Logf("%s: transient (%s); retrying", fn, msg)
		time.Sleep(time.Duration(attempt) * 300 * time.Millisecond)
	}
}

// submitAt submits and waits for the commit, as SubmitWithContext does,
// and also returns the number of the block that committed it.
func submitAt(ctx context.Context, c *fabric.Client, contract, fn string, args ...string) ([]byte, uint64, error) {
	res, commit, err := c.Contract(channelName, chaincodeName, contract).SubmitAsyncWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return nil, 0, err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !st.Successful {
		return nil, 0, fmt.Errorf("transaction %s failed to commit with status code %d (%s)", st.TransactionID, int32(st.Code), st.Code)
	}
	return res, st.BlockNumber, nil
}

// memberPeers are admin clients of Org1's and Org2's peers (the members
// every test network has), dialled once for the whole run.
var memberPeers struct {
	once    sync.Once
	clients []*fabric.Client
	err     error
}

// waitPeersAt waits (at most 30 s) until Org1's and Org2's peers both
// hold block: fabric-gateway returns once the peer it asked saw the
// commit, and the other peer may still be a block behind.
func waitPeersAt(ctx context.Context, t testing.TB, block uint64) {
	t.Helper()
	memberPeers.once.Do(func() {
		for _, org := range []string{"org1", "org2"} {
			p, err := fabric.LoadProfile(filepath.Join(env.runDir, "connection-"+org+".json"))
			if err == nil {
				var c *fabric.Client
				if c, err = fabric.Dial(context.Background(), p); err == nil {
					memberPeers.clients = append(memberPeers.clients, c)
					continue
				}
			}
			memberPeers.err = err
			return
		}
	})
	if memberPeers.err != nil {
		t.Fatalf("dial the members' peers: %v", memberPeers.err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range memberPeers.clients {
		for {
			h, err := height(ctx, c)
			if err == nil && h > block {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's peer did not reach block %d within 30 s (height %d, %v)", c.MSPID(), block, h, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func rspResponse(ctx context.Context, t *testing.T, c *fabric.Client, id string) wire.Response {
	t.Helper()
	res, err := c.Contract(channelName, chaincodeName, wire.ContractResponses).EvaluateWithContext(ctx, wire.TxGetResponse, client.WithArguments(id))
	if err != nil {
		t.Fatalf("GetResponse %s: %s", id, fabricDetails(err))
	}
	var r wire.Response
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitState polls the ledger until the response reaches state. Read
// errors are retried until the deadline: the network is shared, and other
// tests restart peers.
func waitState(ctx context.Context, t *testing.T, c *fabric.Client, id, state string, within time.Duration) wire.Response {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		res, err := c.Contract(channelName, chaincodeName, wire.ContractResponses).EvaluateWithContext(ctx, wire.TxGetResponse, client.WithArguments(id))
		var r wire.Response
		if err == nil {
			if err = json.Unmarshal(res, &r); err == nil && r.State == state {
				return r
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("response %s: %s", id, fabricDetails(err))
			}
			t.Fatalf("response %s (policy %s) is %q after %s, want %q; outcomes %+v", id, r.PolicyID, r.State, within, state, r.Outcomes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRespondEndToEnd runs the responder in-process against the network:
// policies approved by both organisations, alerts raised by Org1's
// gateway, actions delivered to a local receiver and outcomes recorded on
// the ledger; approval gating, dry-run, a receiver that is down, and a
// responder killed mid-burst and restarted from its checkpoint and
// journal.
func TestRespondEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	gwID := "rsp-" + run
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))

	// Policies of this run only: each matches only this gateway's alerts.
	only := fmt.Sprintf(`alert.gateway == %q && `, gwID)
	policies := map[string]wire.Policy{
		"isolate": {ID: "rsp-iso-" + run, Version: 1, Mode: wire.ModeEnforce, Condition: only + `alert.category == "rsp-intrusion"`,
			Actions: []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}}},
		"mfa": {ID: "rsp-mfa-" + run, Version: 1, Mode: wire.ModeEnforce, ResponseApprovals: 1, Condition: only + `alert.category == "rsp-brute"`,
			Actions: []wire.Action{{Type: wire.ActionMFAChallenge, Params: map[string]string{"principal": "{{alert.principal}}"}}}},
		"dry": {ID: "rsp-dry-" + run, Version: 1, Mode: wire.ModeDryRun, Condition: only + `alert.category == "rsp-dry"`,
			Actions: []wire.Action{{Type: wire.ActionBlockIP, Params: map[string]string{"ip": "{{alert.fields.ip}}"}}}},
		"incident": {ID: "rsp-inc-" + run, Version: 1, Mode: wire.ModeEnforce, Condition: only + `alert.category == "rsp-down"`,
			Actions: []wire.Action{{Type: wire.ActionOpenIncident, Params: map[string]string{"title": "alert {{alert.id}}"}}}},
	}
	for _, name := range []string{"isolate", "mfa", "dry", "incident"} {
		p := policies[name]
		rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSONString(t, p))
		rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, p.ID, "1")
		var got wire.Policy
		rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
		if got.State != wire.PolicyActive {
			t.Fatalf("policy %s is %q after both approvals, want active", p.ID, got.State)
		}
	}
	t.Cleanup(func() {
		// Active policies are evaluated on every alert of the shared
		// network (up to a bounded number): leave none behind.
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		for _, p := range policies {
			_, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(cctx, wire.TxRevokePolicy,
				client.WithArguments(p.ID, "1", "end of e2e run "+run))
			if err != nil {
				t.Logf("revoke %s: %s", p.ID, fabricDetails(err))
			}
		}
	})

	// The responder starts reading at the current height: the network is
	// shared and older events belong to other tests.
	h, err := height(ctx, gw1)
	if err != nil {
		t.Fatal(err)
	}
	receiver, srv := newActionReceiver(t)
	conns := map[string]connector.Connector{}
	for typ, path := range map[string]string{wire.ActionIsolateHost: "/isolate", wire.ActionMFAChallenge: "/mfa",
		wire.ActionOpenIncident: "/incident", wire.ActionBlockIP: "/block"} {
		c, err := rest.New(typ, connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: srv.URL + path,
			Body: `{"params": {{json .Params}}, "response": {{json .Request.ResponseID}}, "batch": {{json .Request.BatchID}}}`}})
		if err != nil {
			t.Fatal(err)
		}
		conns[typ] = c
	}
	if conns[wire.ActionNotify], err = notify.New(connector.NotifyConfig{URL: srv.URL + "/notify"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := respond.Config{
		GatewayIDs:     []string{gwID},
		CheckpointFile: filepath.Join(dir, "checkpoint.json"),
		JournalFile:    filepath.Join(dir, "journal"),
		StartBlock:     &h,
		Workers:        2,
		Timeout:        5 * time.Second,
		Retry:          respond.Retry{Attempts: 3, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		LedgerBackoff:  time.Second,
	}
	r1 := startResponder(t, gw1, cfg, conns)

	// One batch of this gateway holds every event the alerts point at.
	now := time.Now().UTC()
	model := wire.Model{ID: "rsp-model", Version: "1", SHA256: sha(run + "model")}
	const leaves = 64
	batch := wire.Batch{
		MSP: "Org1MSP", GatewayID: gwID, TreeSizeBefore: 0, TreeSizeAfter: leaves, RootHash: sha(run),
		FirstSeq: 0, LastSeq: leaves - 1, FirstEventTime: wire.NewTime(now.Add(-time.Minute)), LastEventTime: wire.NewTime(now),
		ClassCounts: map[string]uint64{"auth": leaves}, Models: []wire.Model{model},
	}
	batch.ID = wire.BatchID(batch.MSP, gwID, 0, leaves, batch.RootHash)
	rspSubmit(ctx, t, gw1, wire.ContractEvents, wire.TxAnchorBatch, nil, mustJSONString(t, batch))
	alert := func(event, category string) wire.Alert {
		eh := sha(run + event)
		return wire.Alert{
			ID: wire.AlertID("Org1MSP", gwID, eh, model.ID, model.Version), MSP: "Org1MSP", GatewayID: gwID,
			EventHash: eh, BatchID: batch.ID, EventTime: wire.NewTime(now.Add(-time.Second)), Detector: model,
			Score: 0.97, Severity: wire.SeverityHigh, Category: category, Asset: "host-" + event,
			Principal: "pseudo-" + event, Fields: map[string]string{"ip": "192.0.2.7"},
		}
	}
	responseOf := func(a wire.Alert, policy string) string { return wire.ResponseID(a.ID, policies[policy].ID, 1) }

	intrusion, brute, dry, down := alert("intrusion", "rsp-intrusion"), alert("brute", "rsp-brute"), alert("dry", "rsp-dry"), alert("down", "rsp-down")
	var raised wire.RaiseResult
	rspSubmit(ctx, t, gw1, wire.ContractAlerts, wire.TxRaiseAlerts, &raised, mustJSONString(t, []wire.Alert{intrusion, brute, dry, down}))
	// Count only this run's policies: a shared network may hold other
	// active policies (make demo enacts the examples) that match too.
	own := 0
	for _, r := range raised.Responses {
		for _, p := range policies {
			if r.PolicyID == p.ID {
				own++
			}
		}
	}
	if own != 4 {
		t.Fatalf("RaiseAlerts requested %d responses of this run's policies, want 4: %+v", own, raised)
	}

	t.Run("flagged alert: one action, one outcome", func(t *testing.T) {
		id := responseOf(intrusion, "isolate")
		r := waitState(ctx, t, gw1, id, wire.ResponseSucceeded, time.Minute)
		if calls, _ := receiver.count("/isolate", id); calls != 1 {
			t.Fatalf("receiver saw %d calls for %s, want 1", calls, id)
		}
		if len(r.Outcomes) != 1 || !strings.Contains(r.Outcomes[0].Detail, "HTTP 200") {
			t.Fatalf("outcomes = %+v, want one succeeded", r.Outcomes)
		}
	})

	t.Run("receiver down: failed after the configured attempts", func(t *testing.T) {
		id := responseOf(down, "incident")
		r := waitState(ctx, t, gw1, id, wire.ResponseFailed, time.Minute)
		if calls, _ := receiver.count("/incident", id); calls != cfg.Retry.Attempts {
			t.Fatalf("receiver saw %d calls, want %d (retry.attempts)", calls, cfg.Retry.Attempts)
		}
		if len(r.Outcomes) != 1 || !strings.Contains(r.Outcomes[0].Detail, "503") {
			t.Fatalf("outcomes = %+v, want one failed naming HTTP 503", r.Outcomes)
		}
	})

	t.Run("approval-gated: runs only after Org2 approves", func(t *testing.T) {
		id := responseOf(brute, "mfa")
		if r := rspResponse(ctx, t, gw1, id); r.State != wire.ResponseAwaitingApproval {
			t.Fatalf("gated response is %q, want awaiting-approval", r.State)
		}
		time.Sleep(time.Second) // the responder has seen the event by now
		if calls, _ := receiver.count("/mfa", id); calls != 0 {
			t.Fatalf("receiver saw %d calls before approval, want 0", calls)
		}
		rspSubmit(ctx, t, admin2, wire.ContractResponses, wire.TxApproveResponse, nil, id)
		waitState(ctx, t, gw1, id, wire.ResponseSucceeded, time.Minute)
		if calls, _ := receiver.count("/mfa", id); calls != 1 {
			t.Fatalf("receiver saw %d calls after approval, want 1", calls)
		}
	})

	t.Run("dry-run never calls the receiver", func(t *testing.T) {
		id := responseOf(dry, "dry")
		if r := rspResponse(ctx, t, gw1, id); r.State != wire.ResponseDryRun || len(r.Outcomes) != 0 {
			t.Fatalf("dry-run response = %q with %d outcomes, want dry-run with none", r.State, len(r.Outcomes))
		}
		if calls, _ := receiver.count("/block", id); calls != 0 {
			t.Fatalf("receiver saw %d calls for a dry-run response", calls)
		}
	})

	t.Run("killed mid-burst and restarted: nothing lost, nothing executed twice", func(t *testing.T) {
		receiver.setDelay(150 * time.Millisecond) // keep actions in flight when the kill lands
		const burst, perTx = 24, 4
		var ids []string
		for i := 0; i < burst; i += perTx {
			var as []wire.Alert
			for j := i; j < i+perTx; j++ {
				a := alert(fmt.Sprintf("burst-%d", j), "rsp-intrusion")
				as = append(as, a)
				ids = append(ids, responseOf(a, "isolate"))
			}
			rspSubmit(ctx, t, gw1, wire.ContractAlerts, wire.TxRaiseAlerts, nil, mustJSONString(t, as))
		}
		executed := func() int {
			n := 0
			for _, id := range ids {
				if _, e := receiver.count("/isolate", id); e > 0 {
					n++
				}
			}
			return n
		}
		deadline := time.Now().Add(time.Minute)
		for executed() < 5 {
			if time.Now().After(deadline) {
				t.Fatalf("only %d burst actions executed within a minute", executed())
			}
			time.Sleep(20 * time.Millisecond)
		}
		r1.kill(t)
		before := executed()
		t.Logf("killed the responder after %d of %d burst actions", before, burst)
		if before == burst {
			t.Log("every action finished before the kill; the restart only replays")
		}

		startResponder(t, gw1, cfg, conns)
		for _, id := range ids {
			waitState(ctx, t, gw1, id, wire.ResponseSucceeded, 2*time.Minute)
		}
		redelivered := 0
		for _, id := range ids {
			calls, exec := receiver.count("/isolate", id)
			if exec != 1 {
				t.Errorf("response %s executed %d times at the receiver, want 1", id, exec)
			}
			if calls > 2 {
				t.Errorf("response %s called %d times, want at most 2 (one cut off by the kill)", id, calls)
			}
			redelivered += calls - 1
			if r := waitState(ctx, t, gw1, id, wire.ResponseSucceeded, time.Minute); len(r.Outcomes) != 1 {
				t.Errorf("response %s has %d outcomes, want 1", id, len(r.Outcomes))
			}
		}
		// Only calls in flight at the kill (at most Workers) may be
		// delivered again, with the same Idempotency-Key.
		if redelivered > cfg.Workers {
			t.Errorf("%d calls were delivered again after the restart, want at most %d (the workers in flight)", redelivered, cfg.Workers)
		}
		t.Logf("after restart: %d actions, each executed once; %d in-flight calls redelivered with their idempotency key", burst, redelivered)
		if _, err := os.Stat(cfg.JournalFile); err != nil {
			t.Errorf("journal: %v", err)
		}
	})
}
