package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// streamer sends NDJSON requests of distinct events until stopped and
// records the ids the gateway acknowledged. Refused or failed requests
// (the gateway down, 503 backpressure) are retried with the same bytes,
// as a real shipper does.
type streamer struct {
	g       *gatewayProc
	mu      sync.Mutex
	acked   map[string]bool
	sent    int
	stop    chan struct{}
	done    chan struct{}
	refused int
}

func startStreamer(g *gatewayProc) *streamer {
	s := &streamer{g: g, acked: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *streamer) run() {
	defer close(s.done)
	client := &http.Client{Timeout: 10 * time.Second}
	for n := 0; ; n++ {
		var body []byte
		for i := range 20 {
			body = fmt.Appendf(body, "{\"sourcetype\":\"app\",\"event\":{\"req\":%d,\"i\":%d,\"run\":%q}}\n", n, i, s.g.id)
		}
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodPost, s.g.url+"/v1/events", bytesReader(body))
			req.Header.Set("Authorization", "Bearer "+ndjsonToken)
			// A request the gateway may have stored before it was killed
			// is retried under the same key, so the retry stores nothing
			// twice (without the key each send is a new occurrence).
			req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", s.g.id, n))
			resp, err := client.Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			var acc acceptedResp
			decErr := json.NewDecoder(resp.Body).Decode(&acc)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || decErr != nil {
				s.mu.Lock()
				s.refused++
				s.mu.Unlock()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			// Pace the stream (about 2,000 events/s): a steady load, not a
			// flood that only measures how big a backlog can get.
			time.Sleep(10 * time.Millisecond)
			s.mu.Lock()
			s.sent++
			for _, e := range acc.Events {
				s.acked[e.ID] = true
			}
			s.mu.Unlock()
			break
		}
	}
}

func (s *streamer) finish() map[string]bool {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// checkAnchoredExactlyOnce checks that every acknowledged event is in the
// log and anchored, and that the gateway's batches on the ledger tile the
// log from 0 to its size with no gap and no overlap.
func checkAnchoredExactlyOnce(ctx context.Context, t *testing.T, g *gatewayProc, acked map[string]bool) {
	t.Helper()
	var cp checkpoint
	g.getJSON("/v1/checkpoint", &cp)
	cp = g.waitAnchored(ctx, cp.Size)
	seqs := map[uint64]string{}
	for id := range acked {
		var ev eventResp
		if st := g.getJSON("/v1/events/"+id, &ev); st != http.StatusOK {
			t.Fatalf("acknowledged event %s: GET status %d (lost)", id, st)
		}
		if !ev.Anchored {
			t.Fatalf("acknowledged event %s (seq %d) is not anchored", id, ev.LeafIndex)
		}
		if other, dup := seqs[ev.LeafIndex]; dup {
			t.Fatalf("events %s and %s share seq %d", id, other, ev.LeafIndex)
		}
		seqs[ev.LeafIndex] = id
	}
	if uint64(len(acked)) > cp.Size {
		t.Fatalf("%d acknowledged events but the log holds %d", len(acked), cp.Size)
	}
	n := checkBatchesContiguous(ctx, t, g, cp.Size)
	t.Logf("%d acknowledged events, log size %d, %d batches on the ledger, contiguous", len(acked), cp.Size, n)
}

// checkBatchesContiguous checks that the gateway's batches on the ledger
// tile its log from 0 to size with no gap and no overlap, and returns how
// many there are.
func checkBatchesContiguous(ctx context.Context, t *testing.T, g *gatewayProc, size uint64) int {
	t.Helper()
	auditor := dial(t, "org1", "auditor")
	var batches []wire.Batch
	bookmark := ""
	for {
		var page wire.Page[wire.Batch]
		evaluateJSON(ctx, t, auditor, wire.ContractEvents, wire.TxListBatches, &page, "Org1MSP", g.id, "", "", "200", bookmark)
		batches = append(batches, page.Records...)
		if page.Bookmark == "" || len(page.Records) == 0 {
			break
		}
		bookmark = page.Bookmark
	}
	sort.Slice(batches, func(i, j int) bool { return batches[i].TreeSizeBefore < batches[j].TreeSizeBefore })
	var at uint64
	for _, b := range batches {
		if b.TreeSizeBefore != at {
			t.Fatalf("ledger batches of %s: batch %s starts at %d, want %d (gap or overlap)", g.id, b.ID, b.TreeSizeBefore, at)
		}
		at = b.TreeSizeAfter
	}
	if at != size {
		t.Fatalf("ledger batches cover %d events, the log holds %d", at, size)
	}
	return len(batches)
}

// TestGatewayKilledDuringStream kills the gateway with SIGKILL at random
// moments of a stream, restarts it, and checks nothing acknowledged was
// lost and nothing anchored twice.
func TestGatewayKilledDuringStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{batchMaxEvents: 2000, batchMaxWait: 100 * time.Millisecond})
	s := startStreamer(g)
	for round := range 3 {
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		g.kill()
		t.Logf("round %d: killed the gateway with SIGKILL", round)
		time.Sleep(200 * time.Millisecond)
		g.start()
	}
	time.Sleep(time.Second)
	acked := s.finish()
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged")
	}
	checkAnchoredExactlyOnce(ctx, t, g, acked)
}

// TestLedgerOutageUnderLoad stops both peers while events keep arriving,
// restarts them, and checks every acknowledged event is anchored once.
func TestLedgerOutageUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{batchMaxEvents: 2000, batchMaxWait: 100 * time.Millisecond})
	s := startStreamer(g)
	time.Sleep(time.Second)
	network(t, "stop-node", "peer0.org1")
	network(t, "stop-node", "peer0.org2")
	restarted := false
	defer func() {
		if !restarted {
			network(t, "start-node", "peer0.org1")
			network(t, "start-node", "peer0.org2")
		}
	}()
	time.Sleep(8 * time.Second)
	var cp checkpoint
	g.getJSON("/v1/checkpoint", &cp)
	t.Logf("during the outage: log size %d, anchored %d", cp.Size, cp.AnchoredSize)
	if cp.Size <= cp.AnchoredSize {
		t.Fatalf("the gateway stopped accepting during the ledger outage (size %d, anchored %d)", cp.Size, cp.AnchoredSize)
	}
	network(t, "start-node", "peer0.org1")
	network(t, "start-node", "peer0.org2")
	restarted = true
	time.Sleep(time.Second)
	acked := s.finish()
	checkAnchoredExactlyOnce(ctx, t, g, acked)
}
