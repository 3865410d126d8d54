package console

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// The scale of BenchmarkConsole: alerts on the (fake) ledger and events
// anchored in a real store. LG_CONSOLE_BENCH_EVENTS overrides the events.
const (
	scaleAlerts = 10_000
	scaleEvents = 1_000_000
)

// pagedLedger pages the fake ledger's alert and batch lists as the
// chaincode does (page size and an offset bookmark) and finds an alert by
// key in a map, so a page costs what a page costs, not what 10,000
// records cost.
type pagedLedger struct {
	*fakeLedger
	byKey map[string]wire.Alert
}

func page[T any](all []T, size, bookmark string) ([]byte, error) {
	n, _ := strconv.Atoi(size)
	from, _ := strconv.Atoi(bookmark)
	to := min(from+n, len(all))
	p := wire.Page[T]{Records: all[from:to], Fetched: int32(to - from)}
	if to < len(all) {
		p.Bookmark = strconv.Itoa(to)
	}
	return json.Marshal(p)
}

func (l *pagedLedger) Evaluate(ctx context.Context, contract, tx string, args ...string) ([]byte, error) {
	switch tx {
	case wire.TxListAlerts:
		return page(l.alerts, args[1], args[2])
	case wire.TxListBatches:
		return page(l.batches, args[4], args[5])
	case wire.TxGetAlert:
		a, ok := l.byKey[args[0]+"/"+args[1]]
		if !ok {
			return nil, &gateway.LedgerRejectedError{Op: tx, Code: wire.CodeNotFound, Reason: "no alert"}
		}
		return json.Marshal(a)
	case wire.TxGetAlertHistory:
		a := l.byKey[args[0]+"/"+args[1]]
		return json.Marshal(wire.Page[wire.HistoryEntry[wire.Alert]]{Records: []wire.HistoryEntry[wire.Alert]{{TxID: a.RaisedTx, Timestamp: a.RaisedAt, Value: &a}}})
	case wire.TxListResponses:
		return json.Marshal(wire.Page[wire.Response]{})
	}
	return l.fakeLedger.Evaluate(ctx, contract, tx, args...)
}

// scaleStore is a real store holding n events in sealed, anchored batches
// of store.DefaultBatchMaxEvents, built once per process.
type scaleStore struct {
	st      *store.Store
	batches []gateway.Batch
	events  int
	build   time.Duration
	err     error
}

func buildScaleStore(dir string, n int) scaleStore {
	ctx := context.Background()
	start := time.Now()
	st, err := store.Open(ctx, dir, store.WithGateway("Org1MSP", "gw-1"), store.WithBatchMaxWait(24*time.Hour))
	if err != nil {
		return scaleStore{err: err}
	}
	const chunk = 10_000
	events := make([]gateway.Event, chunk)
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		for i := range k {
			seq := done + i
			events[i] = gateway.Event{Received: t0, Time: t0.Add(time.Duration(seq) * time.Millisecond), Source: "syslog", Sourcetype: "linux:auth",
				Host: fmt.Sprintf("host%d", seq%500), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("Failed password for root from 10.0.%d.%d", seq/256%256, seq%256))}
		}
		if _, err := st.Append(ctx, events[:k]); err != nil {
			return scaleStore{err: err}
		}
	}
	if _, _, err := st.Seal(ctx); err != nil {
		return scaleStore{err: err}
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil {
		return scaleStore{err: err}
	}
	for i, b := range pending {
		if err := st.MarkAnchored(ctx, b.ID, fmt.Sprintf("tx-%04d", i), uint64(10+i)); err != nil {
			return scaleStore{err: err}
		}
		if pending[i], err = st.Batch(ctx, b.ID); err != nil {
			return scaleStore{err: err}
		}
	}
	return scaleStore{st: st, batches: pending, events: n, build: time.Since(start)}
}

// BenchmarkConsole measures three pages at scale: the Alerts list with
// 10,000 alerts on the ledger, an Alert page whose cited event is the last
// of a 10,000-event batch (the worst case of the proof lookup) in a store
// of 1,000,000 anchored events, and the Evidence list of that store's
// batches. The ledger is a paging fake; the store is real (on disk in a
// temporary directory). make bench prints the figures as BENCH lines.
func BenchmarkConsole(b *testing.B) {
	n := scaleEvents
	if v, err := strconv.Atoi(os.Getenv("LG_CONSOLE_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	scale := buildScaleStore(b.TempDir(), n)
	if scale.err != nil {
		b.Fatal(scale.err)
	}
	b.Cleanup(func() { _ = scale.st.Close() })
	fmt.Printf("BENCH console_bench_store_events %d events\nBENCH console_bench_store_build_s %.1f s\n", scale.events, scale.build.Seconds())
	h := newHarness(b, Config{}, func(d *Deps) { d.Store = scale.st })
	pl := &pagedLedger{fakeLedger: h.ledger, byKey: map[string]wire.Alert{}}
	h.c.deps.Ledger = pl
	// The cited event: the last of the middle batch.
	mid := scale.batches[len(scale.batches)/2]
	leaves, err := scale.st.Leaves(context.Background(), mid.TreeSizeAfter-1, mid.TreeSizeAfter)
	if err != nil {
		b.Fatal(err)
	}
	pl.alerts = make([]wire.Alert, scaleAlerts)
	for i := range pl.alerts {
		a := testAlert(i)
		a.BatchID = scale.batches[i%len(scale.batches)].ID
		pl.alerts[i] = a
	}
	cited := &pl.alerts[scaleAlerts/2]
	cited.BatchID, cited.EventHash = mid.ID, hex.EncodeToString(leaves[0].LeafHash[:])
	for _, a := range pl.alerts {
		pl.byKey[a.BatchID+"/"+a.ID] = a
	}
	for _, sb := range scale.batches {
		pl.batches = append(pl.batches, wire.Batch{ID: sb.ID, MSP: "Org1MSP", GatewayID: "gw-1", TreeSizeBefore: sb.TreeSizeBefore, TreeSizeAfter: sb.TreeSizeAfter,
			RootHash: sb.RootHash, FirstSeq: sb.FirstSeq, LastSeq: sb.LastSeq, FirstEventTime: wire.NewTime(sb.TimeFrom), LastEventTime: wire.NewTime(sb.TimeTo),
			TxID: sb.TxID, AnchoredAt: wire.NewTime(t0)})
	}
	s := h.c.sessions.create(gateway.Credential{Name: "bench", Scopes: []gateway.Scope{gateway.ScopeRead}})
	for _, p := range []struct{ name, path, want string }{
		{"alerts_page", Prefix + "/alerts?status=open", ""},
		{"alerts_page_last", Prefix + "/alerts?status=open&bookmark=" + strconv.Itoa(scaleAlerts-50), ""},
		{"alert_detail_page", Prefix + "/alerts/" + cited.BatchID + "/" + cited.ID, `id="proof"`},
		{"evidence_page", Prefix + "/evidence", ""},
	} {
		b.Run(p.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.id})
			rec := httptest.NewRecorder()
			h.c.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), p.want) {
				b.Fatalf("status %d, want 200 with %q: %s", rec.Code, p.want, rec.Body.String())
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.c.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}
