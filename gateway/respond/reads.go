package respond

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// reads coalesces the ledger reads every execution makes before it acts
// (the response, to check it is still runnable, and its alert, for the
// connectors) into batched evaluations: the reads waiting at one moment go
// to the peer as one GetResponses, and the alerts of one anchored batch
// as one ListAlerts of that batch. Each execution still reads after it
// took its response's lock, so what it sees is as fresh as with one read
// each; only the number of evaluations the peer serves drops, which under
// load is what bounded how many actions a second the workers could start.
type reads struct {
	ledger    Ledger
	retry     retryFunc
	log       *slog.Logger
	timeout   time.Duration
	responses *batcher[*responseRead]
	alerts    *batcher[*alertRead]
}

// responseRead is one GetResponse waiting for its batch.
type responseRead struct {
	id   string
	resp *wire.Response
}

// alertRead is one GetAlert waiting for its batch; the alert's MSP and
// gateway (the response's) name the alert sets it is in.
type alertRead struct {
	msp, gatewayID, batchID, alertID string
	alert                            *wire.Alert
}

// Bounds of the read batches: reads are evaluations, cheap for the peer
// once batched, so a short linger and a few in flight keep them fast.
const (
	readBatch   = 200
	readSlots   = 4
	readLinger  = 2 * time.Millisecond
	alertsPages = 10 // ListAlerts pages read for one batch (10,000 alerts); the rest one by one
)

func newReads(ledger Ledger, retry retryFunc, log *slog.Logger, timeout time.Duration) *reads {
	rd := &reads{ledger: ledger, retry: retry, log: log, timeout: timeout}
	rd.responses = newBatcher(readBatch, readSlots, readLinger, func(r *responseRead) string { return r.id }, rd.flushResponses)
	rd.alerts = newBatcher(readBatch, readSlots, readLinger, func(a *alertRead) string { return a.batchID + "/" + a.alertID }, rd.flushAlerts)
	return rd
}

// run runs both batchers until ctx ends.
func (rd *reads) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rd.responses.run(ctx) }()
	go func() { defer wg.Done(); rd.alerts.run(ctx) }()
	wg.Wait()
}

// response reads one response, retrying while the ledger is unavailable.
func (rd *reads) response(ctx context.Context, id string) (*wire.Response, error) {
	r := &responseRead{id: id}
	if err := rd.responses.do(ctx, r); err != nil {
		return nil, err
	}
	return r.resp, nil
}

// alert reads one alert, best effort within the connector timeout: nil
// when it cannot be read (a connector works without it).
func (rd *reads) alert(ctx context.Context, msp, gatewayID, batchID, alertID string) (*wire.Alert, error) {
	actx, cancel := context.WithTimeout(ctx, rd.timeout)
	defer cancel()
	a := &alertRead{msp: msp, gatewayID: gatewayID, batchID: batchID, alertID: alertID}
	if err := rd.alerts.do(actx, a); err != nil {
		return nil, err
	}
	return a.alert, nil
}

// flushResponses reads a batch of responses with one GetResponses; an id
// the chaincode could not read fails alone. A final refusal of the whole
// call (a chaincode older than GetResponses) falls back to one
// GetResponse per id.
func (rd *reads) flushResponses(ctx context.Context, items []*responseRead) []error {
	errs := make([]error, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	var found []wire.ResponseLookup
	err := rd.retry(ctx, wire.TxGetResponses, func(ctx context.Context) error {
		var err error
		found, err = rd.ledger.GetResponses(ctx, ids)
		return err
	})
	switch {
	case err == nil:
		for i, it := range items {
			switch f := found[i]; {
			case f.Response != nil && f.Response.ID == it.id:
				it.resp = f.Response
			default:
				errs[i] = &gateway.LedgerRejectedError{Op: wire.TxGetResponse, Stage: gateway.StageEvaluate, Code: f.Code, Reason: f.Message}
			}
		}
	case ctx.Err() != nil:
		for i := range errs {
			errs[i] = ctx.Err()
		}
	default:
		rd.log.Warn("the ledger refused a batch of response reads as a whole; reading them one by one", "count", len(items), "error", err)
		var wg sync.WaitGroup
		for i, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = rd.retry(ctx, wire.TxGetResponse, func(ctx context.Context) error {
					var err error
					it.resp, err = rd.ledger.GetResponse(ctx, it.id)
					return err
				})
			}()
		}
		wg.Wait()
	}
	return errs
}

// flushAlerts reads a batch of alerts: those of an anchored batch with
// more than one read waiting come from one listing of that batch's
// alerts, the others (and any the listing lacks) from GetAlert. Reads
// are best effort: no retries; an alert not read gets an error.
func (rd *reads) flushAlerts(ctx context.Context, items []*alertRead) []error {
	ctx, cancel := context.WithTimeout(ctx, rd.timeout)
	defer cancel()
	errs := make([]error, len(items))
	groups := map[string][]int{}
	var order []string
	for i, it := range items {
		k := it.msp + "\x00" + it.gatewayID + "\x00" + it.batchID
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	var wg sync.WaitGroup
	for _, k := range order {
		idx := groups[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var listed map[string]*wire.Alert
			if len(idx) > 1 {
				first := items[idx[0]]
				list, err := rd.ledger.BatchAlerts(ctx, first.msp, first.gatewayID, first.batchID, alertsPages)
				if err != nil {
					rd.log.Debug("alerts of a batch not listed; reading them one by one", "batch_id", first.batchID, "error", err)
				}
				listed = make(map[string]*wire.Alert, len(list))
				for j := range list {
					listed[list[j].ID] = &list[j]
				}
			}
			for _, i := range idx {
				it := items[i]
				if a, ok := listed[it.alertID]; ok {
					it.alert = a
					continue
				}
				it.alert, errs[i] = rd.ledger.GetAlert(ctx, it.batchID, it.alertID)
			}
		}()
	}
	wg.Wait()
	return errs
}
