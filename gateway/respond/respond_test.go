package respond

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

const ownMSP = "Org1MSP"

type harness struct {
	t      *testing.T
	dir    string
	ledger *fakeLedger
	source *fakeSource
	conn   *fakeConnector
	cfg    Config
	fs     durable.FS
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	cfg := Config{
		CheckpointFile: filepath.Join(dir, "checkpoint.json"),
		JournalFile:    filepath.Join(dir, "journal"),
		Timeout:        time.Second,
		Retry:          Retry{Attempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond},
		LedgerBackoff:  4 * time.Millisecond,
	}
	return &harness{t: t, dir: dir, ledger: newFakeLedger(), source: newFakeSource(), conn: newFakeConnector(), cfg: cfg}
}

// start runs a responder (a new one each call, as after a restart).
func (h *harness) start() {
	h.t.Helper()
	conns := map[string]connector.Connector{wire.ActionIsolateHost: h.conn, wire.ActionNotify: h.conn}
	var opts []Option
	if h.fs != nil {
		opts = append(opts, WithFS(h.fs))
	}
	r, err := New(h.cfg, ownMSP, h.ledger, h.source, conns, opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- r.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop cancels the responder abruptly and returns Run's error.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(5 * time.Second):
		h.t.Fatal("responder did not stop within 5s")
		return nil
	}
}

// response puts a response on the fake ledger and returns its request.
func (h *harness) response(id, state string, actions ...wire.Action) wire.ResponseRequest {
	if len(actions) == 0 {
		actions = []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "web-01"}}}
	}
	r := wire.Response{ID: id, AlertID: "alert-" + id, BatchID: "batch-1", PolicyID: "p1", PolicyVersion: 1,
		MSP: ownMSP, GatewayID: "gw-1", Mode: wire.ModeEnforce, State: state, Actions: actions,
		PolicyScope: wire.ScopeConsortium, PolicyOwner: "Org2MSP", PolicyApprovedBy: []string{"Org2MSP", ownMSP}}
	h.ledger.put(r)
	return r.Request()
}

// responseOf puts a requested response whose policy has the given scope,
// owner and approving organisations on the fake ledger.
func (h *harness) responseOf(id, scope, owner string, approvedBy ...string) wire.ResponseRequest {
	h.response(id, wire.ResponseRequested)
	r, _ := h.ledger.GetResponse(context.Background(), id)
	r.PolicyScope, r.PolicyOwner, r.PolicyApprovedBy = scope, owner, approvedBy
	h.ledger.put(*r)
	return r.Request()
}

func (h *harness) waitCheckpoint(n int) {
	h.t.Helper()
	waitFor(h.t, "checkpoint", func() bool { return h.source.checkpointed() >= n })
}

func TestRequestedRunsOnceAndRecordsOneOutcome(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
	h.waitCheckpoint(1)
	if got := h.conn.count("r1"); got != 1 {
		t.Fatalf("connector calls for r1 = %d, want 1", got)
	}
	got := h.ledger.outcomesOf("r1")
	if len(got) != 1 || got[0].Status != wire.ResponseSucceeded || got[0].Detail != "isolate_host: done web-01" {
		t.Fatalf("outcomes = %+v, want one succeeded with the connector's detail", got)
	}
}

func TestOnlyOwnOrganisationAndGateways(t *testing.T) {
	h := newHarness(t)
	h.cfg.GatewayIDs = []string{"gw-1"}
	h.start()
	other := h.response("other-org", wire.ResponseRequested)
	other.MSP = "Org2MSP"
	otherGw := h.response("other-gw", wire.ResponseRequested)
	otherGw.GatewayID = "gw-2"
	own := h.response("own", wire.ResponseRequested)
	h.source.emit(t, wire.EventResponsesRequested, other, otherGw, own)
	h.waitCheckpoint(1)
	if h.conn.total() != 1 || h.conn.count("own") != 1 {
		t.Fatalf("calls = %v, want only own", h.conn.calls)
	}
}

func TestAwaitingApprovalRunsOnlyWhenReleased(t *testing.T) {
	h := newHarness(t)
	h.start()
	req := h.response("r1", wire.ResponseAwaitingApproval)
	h.source.emit(t, wire.EventResponsesRequested, req)
	h.waitCheckpoint(1)
	if h.conn.total() != 0 || len(h.ledger.outcomesOf("r1")) != 0 {
		t.Fatal("an awaiting-approval response was executed")
	}
	// ApproveResponse releases it: the ledger state moves and the
	// chaincode emits ResponsesRequested again.
	h.ledger.setState("r1", wire.ResponseRequested)
	req.State = wire.ResponseRequested
	h.source.emit(t, wire.EventResponsesRequested, req)
	h.waitCheckpoint(2)
	if h.conn.count("r1") != 1 || len(h.ledger.outcomesOf("r1")) != 1 {
		t.Fatalf("after release: %d calls, %d outcomes; want 1 and 1", h.conn.count("r1"), len(h.ledger.outcomesOf("r1")))
	}
}

func TestDryRunNeverExecutes(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseDryRun), h.response("r2", wire.ResponseRateLimited))
	h.waitCheckpoint(1)
	if h.conn.total() != 0 || len(h.ledger.outcomesOf("r1")) != 0 {
		t.Fatal("a dry-run response was executed or recorded")
	}
}

func TestReceiverDownRecordsFailedAfterRetries(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantCalls int
	}{
		{"retryable", connector.Retryable("isolate_host", errors.New("connection refused")), 3},
		{"permanent", &connector.Error{Connector: "isolate_host", StatusCode: 403, Err: errors.New("forbidden")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.conn.fail = func(string, int) error { return tt.err }
			h.start()
			h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
			h.waitCheckpoint(1)
			if got := h.conn.count("r1"); got != tt.wantCalls {
				t.Fatalf("calls = %d, want %d", got, tt.wantCalls)
			}
			got := h.ledger.outcomesOf("r1")
			if len(got) != 1 || got[0].Status != wire.ResponseFailed || !strings.Contains(got[0].Detail, tt.err.Error()) {
				t.Fatalf("outcomes = %+v, want one failed carrying %q", got, tt.err)
			}
		})
	}
}

func TestRetrySucceedsWithinAttempts(t *testing.T) {
	h := newHarness(t)
	h.conn.fail = func(_ string, n int) error {
		if n < 3 {
			return connector.Retryable("isolate_host", errors.New("503"))
		}
		return nil
	}
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
	h.waitCheckpoint(1)
	if got := h.ledger.outcomesOf("r1"); h.conn.count("r1") != 3 || len(got) != 1 || got[0].Status != wire.ResponseSucceeded {
		t.Fatalf("calls %d outcomes %+v, want 3 calls and one succeeded", h.conn.count("r1"), got)
	}
}

func TestDuplicateAndReplayedEventsExecuteOnce(t *testing.T) {
	h := newHarness(t)
	h.start()
	req := h.response("r1", wire.ResponseRequested)
	h.source.emit(t, wire.EventResponsesRequested, req, req)
	h.source.emit(t, wire.EventResponsesRequested, req)
	h.waitCheckpoint(2)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// A restart that replays every event (a lost checkpoint) with the same
	// journal: the ledger says the response has its outcome.
	h.source.rewind()
	h.start()
	h.waitCheckpoint(2)
	if got := h.conn.count("r1"); got != 1 {
		t.Fatalf("calls = %d, want 1", got)
	}
	if got := h.ledger.outcomesOf("r1"); len(got) != 1 {
		t.Fatalf("outcomes = %d, want 1", len(got))
	}
}

func TestCrashBeforeRecordOutcomeReRecordsWithoutCalling(t *testing.T) {
	h := newHarness(t)
	h.ledger.setRecordDown(true) // the call succeeds, recording cannot
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
	waitFor(t, "the connector call", func() bool { return h.conn.count("r1") == 1 })
	time.Sleep(20 * time.Millisecond) // let it reach the RecordOutcome retries
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if h.source.checkpointed() != 0 {
		t.Fatal("an event was checkpointed before its outcome was recorded")
	}
	h.ledger.setRecordDown(false)
	h.start()
	h.waitCheckpoint(1)
	if got := h.conn.count("r1"); got != 1 {
		t.Fatalf("calls = %d, want 1 (the journal held the result)", got)
	}
	if got := h.ledger.outcomesOf("r1"); len(got) != 1 || got[0].Status != wire.ResponseSucceeded {
		t.Fatalf("outcomes = %+v, want one succeeded", got)
	}
}

// A ledger call cut short (context.Canceled while the stream lives, as
// from a batcher stopped before its stream) is no answer: the event is
// not checkpointed, and once the ledger answers again the response runs
// once and its outcome is recorded once.
func TestCutLedgerCallIsNotCheckpointed(t *testing.T) {
	for _, tc := range []struct {
		name          string
		records, read bool
		wantCalls     int // connector calls while the ledger is cut
	}{
		{name: "outcome", records: true, wantCalls: 1},
		{name: "read", read: true, wantCalls: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.ledger.setCut(tc.records, tc.read)
			h.start()
			h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
			if tc.wantCalls > 0 {
				waitFor(t, "the connector call", func() bool { return h.conn.count("r1") == tc.wantCalls })
			}
			time.Sleep(100 * time.Millisecond) // several reconnects and replays
			if got := h.source.checkpointed(); got != 0 {
				t.Fatalf("checkpointed = %d while the ledger calls were cut, want 0", got)
			}
			if got := h.conn.count("r1"); got != tc.wantCalls {
				t.Fatalf("calls while cut = %d, want %d", got, tc.wantCalls)
			}
			h.ledger.setCut(false, false)
			h.waitCheckpoint(1)
			if got := h.conn.count("r1"); got != 1 {
				t.Fatalf("calls = %d, want 1", got)
			}
			if got := h.ledger.outcomesOf("r1"); len(got) != 1 || got[0].Status != wire.ResponseSucceeded {
				t.Fatalf("outcomes = %+v, want one succeeded", got)
			}
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCrashDuringCallCallsAgainWithSameKey(t *testing.T) {
	h := newHarness(t)
	h.conn.setBlock(true) // the receiver hangs: the call is in flight
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
	<-h.conn.entered
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.ledger.outcomesOf("r1")); n != 0 {
		t.Fatalf("%d outcomes recorded for a call cut by shutdown, want 0", n)
	}
	h.conn.setBlock(false)
	h.start()
	h.waitCheckpoint(1)
	if got := h.conn.count("r1"); got != 2 {
		t.Fatalf("calls with key r1 = %d, want 2 (at-least-once, same idempotency key)", got)
	}
	if got := h.ledger.outcomesOf("r1"); len(got) != 1 {
		t.Fatalf("outcomes = %d, want 1", len(got))
	}
}

func TestRollback(t *testing.T) {
	h := newHarness(t)
	h.start()
	req := h.response("r1", wire.ResponseRequested)
	h.source.emit(t, wire.EventResponsesRequested, req)
	h.waitCheckpoint(1)
	h.ledger.setState("r1", wire.ResponseRollbackRequested)
	req.State = wire.ResponseRollbackRequested
	h.source.emit(t, wire.EventRollbackRequested, req)
	h.source.emit(t, wire.EventRollbackRequested, req) // duplicate
	h.waitCheckpoint(3)
	got := h.ledger.outcomesOf("r1")
	if len(got) != 2 || got[1].Status != wire.ResponseRolledBack || got[1].Detail != "isolate_host: released web-01" {
		t.Fatalf("outcomes = %+v, want succeeded then rolled-back", got)
	}
	if n := h.conn.rollbacks["r1/rollback"]; n != 1 {
		t.Fatalf("rollback calls = %d, want 1", n)
	}
}

func TestMultipleActionsUseDistinctKeys(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested,
		wire.Action{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "a"}},
		wire.Action{Type: wire.ActionNotify, Params: map[string]string{"channel": "c", "message": "m"}},
		wire.Action{Type: wire.ActionOpenIncident, Params: map[string]string{"title": "t"}}))
	h.waitCheckpoint(1)
	if h.conn.count("r1") != 1 || h.conn.count("r1/1") != 1 {
		t.Fatalf("calls = %v", h.conn.calls)
	}
	got := h.ledger.outcomesOf("r1")
	if len(got) != 1 || got[0].Status != wire.ResponseFailed || !strings.Contains(got[0].Detail, "no connector configured for action open_incident") {
		t.Fatalf("outcomes = %+v, want failed naming the missing connector", got)
	}
}

// TestReadsHoldNoWorker: with one worker busy in a connector call, the
// next executions still read their responses (they wait for the worker
// only to call their connectors), and no more than Workers connector
// calls run at once.
func TestReadsHoldNoWorker(t *testing.T) {
	h := newHarness(t)
	h.cfg.Workers = 1
	h.conn.hold = make(chan struct{})
	h.start()
	const n = 5
	var reqs []wire.ResponseRequest
	for i := range n {
		reqs = append(reqs, h.response(fmt.Sprintf("r%d", i), wire.ResponseRequested))
	}
	h.source.emit(t, wire.EventResponsesRequested, reqs...)
	<-h.conn.entered
	waitFor(t, "every response read while the only worker is in a connector call", func() bool {
		h.ledger.mu.Lock()
		defer h.ledger.mu.Unlock()
		read := 0
		for _, k := range h.ledger.reads {
			read += k
		}
		return read >= n
	})
	if got := h.conn.total(); got != 1 {
		t.Fatalf("connector calls while the worker is busy = %d, want 1", got)
	}
	close(h.conn.hold)
	h.waitCheckpoint(1)
	if got, want := h.conn.total(), n; got != want {
		t.Fatalf("calls = %d, want %d", got, want)
	}
	if got := h.conn.maxConcurrent(); got != 1 {
		t.Fatalf("connector calls at once = %d, want at most Workers (1)", got)
	}
}

// TestReadAheadIsBounded: executions waiting for a worker are admitted
// (and read) only up to readAhead per worker, so a burst larger than that
// is not read, nor held in goroutines, all at once.
func TestReadAheadIsBounded(t *testing.T) {
	h := newHarness(t)
	h.cfg.Workers = 1
	h.conn.hold = make(chan struct{})
	h.start()
	const n = 3 * readAhead
	var reqs []wire.ResponseRequest
	for i := range n {
		reqs = append(reqs, h.response(fmt.Sprintf("r%02d", i), wire.ResponseRequested))
	}
	h.source.emit(t, wire.EventResponsesRequested, reqs...)
	<-h.conn.entered
	reads := func() int {
		h.ledger.mu.Lock()
		defer h.ledger.mu.Unlock()
		read := 0
		for _, k := range h.ledger.reads {
			read += k
		}
		return read
	}
	waitFor(t, "the admitted executions' reads", func() bool { return reads() >= readAhead })
	time.Sleep(50 * time.Millisecond) // room for a read beyond the bound
	if got := reads(); got != readAhead {
		t.Fatalf("responses read while the only worker is busy = %d, want readAhead×Workers = %d", got, readAhead)
	}
	close(h.conn.hold)
	h.waitCheckpoint(1)
	if got := h.conn.total(); got != n {
		t.Fatalf("calls = %d, want %d", got, n)
	}
}

func TestBurstIsCheckpointedInOrder(t *testing.T) {
	h := newHarness(t)
	h.cfg.Workers = 8
	h.start()
	const n = 50
	for i := range n {
		h.source.emit(t, wire.EventResponsesRequested, h.response("r"+string(rune('A'+i%26))+strings.Repeat("x", i/26), wire.ResponseRequested))
	}
	h.waitCheckpoint(n)
	if got := h.conn.total(); got != n {
		t.Fatalf("calls = %d, want %d", got, n)
	}
}

// failingFS wraps the OS file system and fails fsync once armed.
type failingFS struct {
	durable.OS
	armed *bool
}

type failingFile struct {
	durable.File
	armed *bool
}

func (f failingFS) OpenAppend(name string) (durable.File, error) {
	file, err := f.OS.OpenAppend(name)
	return failingFile{file, f.armed}, err
}

func (f failingFile) Sync() error {
	if *f.armed {
		return errors.New("EIO")
	}
	return f.File.Sync()
}

func TestJournalFsyncFailureIsFatal(t *testing.T) {
	h := newHarness(t)
	armed := true
	h.fs = failingFS{armed: &armed}
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested))
	select {
	case err := <-h.done:
		h.cancel = nil
		if !errors.Is(err, ErrJournal) {
			t.Fatalf("Run = %v, want ErrJournal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on an fsync failure")
	}
	if h.conn.total() != 0 || h.source.checkpointed() != 0 {
		t.Fatal("acted or checkpointed after the journal failed")
	}
}

// TestRefusesPolicyItsOrgDidNotApprove: the responder executes only what
// its own organisation enacted, and records the refusal otherwise.
func TestRefusesPolicyItsOrgDidNotApprove(t *testing.T) {
	tests := []struct {
		name       string
		scope      string
		owner      string
		approvedBy []string
		refused    bool
	}{
		{"consortium approved by own org", wire.ScopeConsortium, "Org2MSP", []string{"Org2MSP", ownMSP}, false},
		{"consortium approved by another org only", wire.ScopeConsortium, "Org2MSP", []string{"Org2MSP"}, true},
		{"empty scope means consortium", "", "Org2MSP", []string{"Org2MSP"}, true},
		{"no approvals listed", wire.ScopeConsortium, "Org2MSP", nil, true},
		{"own org-scoped policy", wire.ScopeOrg, ownMSP, []string{ownMSP}, false},
		{"another org's org-scoped policy", wire.ScopeOrg, "Org2MSP", []string{"Org2MSP", ownMSP}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start()
			h.source.emit(t, wire.EventResponsesRequested, h.responseOf("r1", tt.scope, tt.owner, tt.approvedBy...))
			h.waitCheckpoint(1)
			calls, outcomes := h.conn.count("r1"), h.ledger.outcomesOf("r1")
			if len(outcomes) != 1 {
				t.Fatalf("outcomes = %+v, want one", outcomes)
			}
			got := outcomes[0].Status == wire.ResponseRefused
			if got != tt.refused || (calls == 0) != tt.refused {
				t.Fatalf("refused = %v with %d connector call(s) (outcome %+v), want refused %v", got, calls, outcomes[0], tt.refused)
			}
			if tt.refused && !strings.Contains(outcomes[0].Detail, ownMSP) {
				t.Fatalf("refusal detail %q does not name %s", outcomes[0].Detail, ownMSP)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name string
		resp wire.Response
		want bool
	}{
		{"approved", wire.Response{PolicyScope: wire.ScopeConsortium, PolicyApprovedBy: []string{ownMSP}}, false},
		{"not approved", wire.Response{PolicyScope: wire.ScopeConsortium, PolicyApprovedBy: []string{"Org2MSP"}}, true},
		{"legacy response", wire.Response{}, true},
		{"own org scope", wire.Response{PolicyScope: wire.ScopeOrg, PolicyOwner: ownMSP}, false},
		{"other org scope", wire.Response{PolicyScope: wire.ScopeOrg, PolicyOwner: "Org2MSP", PolicyApprovedBy: []string{ownMSP}}, true},
	}
	for _, tt := range tests {
		if got := Refusal(&tt.resp, ownMSP) != ""; got != tt.want {
			t.Errorf("%s: refused = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestReplayedDoneResponsesReadNoAlert: a replayed event whose responses
// are already done reads no alert, and Run can run again on the same
// responder once it returned (under -race: no read of an earlier Run's
// outlives it and races the next Run's set-up).
func TestReplayedDoneResponsesReadNoAlert(t *testing.T) {
	h := newHarness(t)
	var reqs []wire.ResponseRequest
	for _, id := range []string{"r1", "r2", "r3"} {
		reqs = append(reqs, h.response(id, wire.ResponseRequested))
		h.ledger.setState(id, wire.ResponseSucceeded)
	}
	h.source.emit(t, wire.EventResponsesRequested, reqs...)
	conns := map[string]connector.Connector{wire.ActionIsolateHost: h.conn}
	r, err := New(h.cfg, ownMSP, h.ledger, h.source, conns)
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		h.source.rewind()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		h.waitCheckpoint(1)
		time.Sleep(20 * time.Millisecond) // longer than a read batch's linger
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	h.ledger.mu.Lock()
	lists, gets := h.ledger.alertLists, h.ledger.alertGets
	h.ledger.mu.Unlock()
	if lists != 0 || gets != 0 {
		t.Fatalf("%d alert listings and %d alert reads for responses already done, want none", lists, gets)
	}
	if n := h.conn.total(); n != 0 {
		t.Fatalf("%d connector calls for responses already done, want none", n)
	}
}
