package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// fakeLedger keeps responses in memory and applies the chaincode's
// outcome rules (wire.OutcomeAllowed, re-recording is a no-op).
type fakeLedger struct {
	mu        sync.Mutex
	responses map[string]*wire.Response
	outcomes  map[string][]wire.Outcome
	// recordDown makes RecordOutcome and RecordOutcomes report the ledger
	// unavailable.
	recordDown bool
	// noBatches makes RecordOutcomes refuse as a chaincode without it does.
	noBatches bool
	// batches lists the size of every RecordOutcomes transaction
	// committed, singles counts RecordOutcome transactions.
	batches []int
	singles int
	// reads lists the size of every GetResponses call; alertLists counts
	// BatchAlerts calls.
	reads      []int
	alertLists int
	alertGets  int // GetAlert calls
	// gate, when set, holds every RecordOutcomes commit until it closes.
	gate chan struct{}
	// lagging makes RecordOutcome of a response the ledger lacks answer
	// as the adapter does when an endorser has not caught up (transient,
	// wire.CodeNotFound) instead of refusing it.
	lagging bool
	// batchAttempts counts RecordOutcomes calls, failed ones included.
	batchAttempts int
	// cutRecords and cutReads make the outcome and response-read calls
	// (batched and single) fail with context.Canceled (a call cut short, as when a batcher stops
	// before the stream it serves) while the caller's context is live.
	cutRecords, cutReads bool
}

func (l *fakeLedger) setCut(records, reads bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cutRecords, l.cutReads = records, reads
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{responses: map[string]*wire.Response{}, outcomes: map[string][]wire.Outcome{}}
}

func (l *fakeLedger) put(r wire.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := r
	l.responses[r.ID] = &c
}

func (l *fakeLedger) setState(id, state string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.responses[id].State = state
}

func (l *fakeLedger) setRecordDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recordDown = down
}

func (l *fakeLedger) GetResponse(_ context.Context, id string) (*wire.Response, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cutReads {
		return nil, fmt.Errorf("GetResponse: %w", context.Canceled)
	}
	r, ok := l.responses[id]
	if !ok {
		return nil, &gateway.LedgerRejectedError{Op: "GetResponse", Reason: "not found"}
	}
	c := *r
	return &c, nil
}

func (l *fakeLedger) RecordOutcome(_ context.Context, id, status, detail string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cutRecords {
		return fmt.Errorf("RecordOutcome: %w", context.Canceled)
	}
	if l.recordDown {
		return fmt.Errorf("RecordOutcome: %w", gateway.ErrLedgerUnavailable)
	}
	if _, ok := l.responses[id]; !ok && l.lagging {
		return &gateway.LedgerUnavailableError{Op: wire.TxRecordOutcome, Code: wire.CodeNotFound, Err: errors.New("not found")}
	}
	l.singles++
	return l.apply(id, status, detail)
}

// RecordOutcomes applies the chaincode's rules for a batch: the whole
// transaction fails on a duplicate id or a missing response, a record
// refused alone carries its code.
func (l *fakeLedger) RecordOutcomes(ctx context.Context, recs []wire.OutcomeRecord) ([]wire.OutcomeResult, error) {
	l.mu.Lock()
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, fmt.Errorf("RecordOutcomes: %w: %w", gateway.ErrLedgerUnavailable, ctx.Err())
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batchAttempts++
	if l.cutRecords {
		return nil, fmt.Errorf("RecordOutcomes: %w", context.Canceled)
	}
	if l.recordDown {
		return nil, fmt.Errorf("RecordOutcomes: %w", gateway.ErrLedgerUnavailable)
	}
	if l.noBatches {
		return nil, &gateway.LedgerRejectedError{Op: wire.TxRecordOutcomes, Code: wire.CodeInvalid, Reason: "function RecordOutcomes not found"}
	}
	if len(recs) == 0 || len(recs) > wire.MaxOutcomesPerTx {
		return nil, &gateway.LedgerRejectedError{Op: wire.TxRecordOutcomes, Code: wire.CodeInvalid, Reason: fmt.Sprintf("%d outcomes", len(recs))}
	}
	seen := map[string]bool{}
	for _, o := range recs {
		if seen[o.ResponseID] {
			return nil, &gateway.LedgerRejectedError{Op: wire.TxRecordOutcomes, Code: wire.CodeInvalid, Reason: "duplicate " + o.ResponseID}
		}
		seen[o.ResponseID] = true
		if _, ok := l.responses[o.ResponseID]; !ok {
			return nil, &gateway.LedgerUnavailableError{Op: wire.TxRecordOutcomes, Code: wire.CodeNotFound, Err: errors.New("not found")}
		}
	}
	out := make([]wire.OutcomeResult, len(recs))
	for i, o := range recs {
		out[i].ResponseID = o.ResponseID
		if err := l.apply(o.ResponseID, o.Status, o.Detail); err != nil {
			out[i].Code, out[i].Message = wire.CodeState, err.Error()
		}
		out[i].State = l.responses[o.ResponseID].State
	}
	l.batches = append(l.batches, len(recs))
	return out, nil
}

func (l *fakeLedger) setNoBatches(v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.noBatches = v
}

// transactions returns the RecordOutcomes batch sizes and the count of
// RecordOutcome transactions.
func (l *fakeLedger) transactions() ([]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.batches...), l.singles
}

// apply records one outcome under the chaincode's rules; l.mu is held.
func (l *fakeLedger) apply(id, status, detail string) error {
	r, ok := l.responses[id]
	if !ok {
		return &gateway.LedgerRejectedError{Op: "RecordOutcome", Reason: "not found"}
	}
	if r.State == status {
		return nil
	}
	if !wire.OutcomeAllowed(r.State, status) {
		return &gateway.LedgerRejectedError{Op: "RecordOutcome", Code: wire.CodeState, Reason: "state " + r.State}
	}
	r.State = status
	l.outcomes[id] = append(l.outcomes[id], wire.Outcome{Status: status, Detail: detail})
	return nil
}

func (l *fakeLedger) GetResponses(ctx context.Context, ids []string) ([]wire.ResponseLookup, error) {
	l.mu.Lock()
	l.reads = append(l.reads, len(ids))
	noBatches, cut := l.noBatches, l.cutReads
	l.mu.Unlock()
	if cut {
		return nil, fmt.Errorf("GetResponses: %w", context.Canceled)
	}
	if noBatches {
		return nil, &gateway.LedgerRejectedError{Op: wire.TxGetResponses, Code: wire.CodeInvalid, Reason: "function GetResponses not found"}
	}
	out := make([]wire.ResponseLookup, len(ids))
	for i, id := range ids {
		out[i].ID = id
		r, err := l.GetResponse(ctx, id)
		if err != nil {
			out[i].Code, out[i].Message = wire.CodeNotFound, err.Error()
			continue
		}
		out[i].Response = r
	}
	return out, nil
}

func (l *fakeLedger) BatchAlerts(_ context.Context, msp, gatewayID, batchID string, _ int) ([]wire.Alert, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alertLists++
	var out []wire.Alert
	for _, r := range l.responses {
		if r.MSP == msp && r.GatewayID == gatewayID && r.BatchID == batchID {
			out = append(out, wire.Alert{ID: r.AlertID, BatchID: batchID, Severity: wire.SeverityHigh})
		}
	}
	return out, nil
}

func (l *fakeLedger) GetAlert(_ context.Context, batchID, alertID string) (*wire.Alert, error) {
	l.mu.Lock()
	l.alertGets++
	l.mu.Unlock()
	return &wire.Alert{ID: alertID, BatchID: batchID, Severity: wire.SeverityHigh}, nil
}

func (l *fakeLedger) outcomesOf(id string) []wire.Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]wire.Outcome(nil), l.outcomes[id]...)
}

// fakeSource is an append-only event log with a checkpoint, like a
// channel's blocks read through a checkpointer.
type fakeSource struct {
	mu         sync.Mutex
	events     []Event
	checkpoint int // index of the next event to deliver
	writes     int // Checkpoint calls
	grew       chan struct{}
}

func newFakeSource() *fakeSource { return &fakeSource{grew: make(chan struct{})} }

func (s *fakeSource) emit(t *testing.T, name string, reqs ...wire.ResponseRequest) Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := fmt.Sprintf("tx%d", len(s.events))
	b, err := json.Marshal(wire.ResponseEvent{TxID: tx, Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Name: name, BlockNumber: uint64(len(s.events)), TxID: tx, Payload: b}
	s.events = append(s.events, ev)
	close(s.grew)
	s.grew = make(chan struct{})
	return ev
}

func (s *fakeSource) Events(ctx context.Context) (<-chan Event, error) {
	out := make(chan Event)
	s.mu.Lock()
	next := s.checkpoint
	s.mu.Unlock()
	go func() {
		defer close(out)
		for {
			s.mu.Lock()
			grew := s.grew
			var batch []Event
			if next < len(s.events) {
				batch = append(batch, s.events[next:]...)
			}
			s.mu.Unlock()
			for _, ev := range batch {
				select {
				case out <- ev:
					next++
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-grew:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (s *fakeSource) Checkpoint(_ context.Context, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	for i, e := range s.events {
		if e.TxID == ev.TxID {
			if i+1 <= s.checkpoint {
				return fmt.Errorf("checkpoint went backwards: %d after %d", i+1, s.checkpoint)
			}
			s.checkpoint = i + 1
			return nil
		}
	}
	return errors.New("unknown event")
}

func (s *fakeSource) checkpointed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoint
}

func (s *fakeSource) rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoint = 0
}

// fakeConnector counts calls per idempotency key and behaves as told.
type fakeConnector struct {
	mu        sync.Mutex
	calls     map[string]int
	rollbacks map[string]int
	// fail, when set, returns the error for each call.
	fail func(key string, n int) error
	// block, when set, makes calls wait for ctx (a receiver that hangs).
	block   bool
	entered chan string
	// hold, when set, makes calls wait until it is closed; inCall and
	// maxInCall count the calls in progress.
	hold              chan struct{}
	inCall, maxInCall int
}

func newFakeConnector() *fakeConnector {
	return &fakeConnector{calls: map[string]int{}, rollbacks: map[string]int{}, entered: make(chan string, 100)}
}

func (c *fakeConnector) Execute(ctx context.Context, a wire.Action, req connector.Request) (string, error) {
	c.mu.Lock()
	c.calls[req.IdempotencyKey]++
	n := c.calls[req.IdempotencyKey]
	fail, block, hold := c.fail, c.block, c.hold
	c.inCall++
	c.maxInCall = max(c.maxInCall, c.inCall)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inCall--
		c.mu.Unlock()
	}()
	c.entered <- req.IdempotencyKey
	if hold != nil {
		<-hold
	}
	if block {
		<-ctx.Done()
		return "", connector.Retryable(a.Type, ctx.Err())
	}
	if fail != nil {
		if err := fail(req.IdempotencyKey, n); err != nil {
			return "", err
		}
	}
	return "done " + a.Params["host"], nil
}

func (c *fakeConnector) Rollback(_ context.Context, a wire.Action, req connector.Request) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rollbacks[req.IdempotencyKey]++
	return "released " + a.Params["host"], nil
}

func (c *fakeConnector) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[key]
}

func (c *fakeConnector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

func (c *fakeConnector) maxConcurrent() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxInCall
}

func (c *fakeConnector) setBlock(b bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.block = b
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
