package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

type eventResp struct {
	gateway.EventProof
	LeafIndex   uint64 `json:"leaf_index"`
	Anchored    bool   `json:"anchored"`
	TxID        string `json:"tx_id"`
	BlockNumber uint64 `json:"block_number"`
}

type acceptedResp struct {
	Accepted int `json:"accepted"`
	Events   []struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	} `json:"events"`
}

// TestEveryProtocolIsAnchoredAndProvable sends events in each protocol the
// gateway speaks, waits until they are anchored on the ledger, and checks
// each event's inclusion proof, its batch's root on the ledger, and a
// consistency proof between two anchored tree sizes.
func TestEveryProtocolIsAnchoredAndProvable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{})
	run := time.Now().UnixNano()
	var ids []string

	// NDJSON first, anchored alone, so a later consistency proof spans
	// two anchored sizes.
	status, body := g.post("/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson",
		[]byte(fmt.Sprintf("{\"sourcetype\":\"app\",\"event\":{\"msg\":\"one %d\"}}\n{\"sourcetype\":\"app\",\"event\":{\"msg\":\"two %d\"}}\n", run, run)))
	if status != http.StatusOK {
		t.Fatalf("NDJSON: %d %s", status, body)
	}
	var acc acceptedResp
	if err := json.Unmarshal(body, &acc); err != nil || acc.Accepted != 2 {
		t.Fatalf("NDJSON response %s: %v", body, err)
	}
	for _, e := range acc.Events {
		ids = append(ids, e.ID)
	}
	first := g.waitAnchored(ctx, 2)

	sends := []struct {
		name, path, auth, ctype string
		body                    string
		header                  []string
		wantStatus              int
		events                  int
	}{
		{"HEC event", "/services/collector/event", "Splunk " + hecToken, "application/json",
			fmt.Sprintf(`{"event":"hec one %d","sourcetype":"app"}{"event":{"msg":"hec two %d"},"sourcetype":"app"}`, run, run),
			[]string{"X-Splunk-Request-Channel", "0b6c1c1e-0000-4000-8000-000000000002"}, 200, 2},
		{"HEC raw", "/services/collector/raw?sourcetype=linux:auth", "Splunk " + hecToken, "text/plain",
			fmt.Sprintf("Nov 25 10:00:01 ssh-01 sshd[1]: Failed password for root from 203.0.113.9 port 4%d ssh2\nNov 25 10:00:02 ssh-01 sshd[1]: Failed password for admin from 203.0.113.9 port 5%d ssh2\n", run%1000, run%1000),
			[]string{"X-Splunk-Request-Channel", "0b6c1c1e-0000-4000-8000-000000000002"}, 200, 2},
		{"Elasticsearch bulk", "/logs/_bulk", "ApiKey " + esToken, "application/x-ndjson",
			fmt.Sprintf("{\"index\":{}}\n{\"message\":\"es one %d\"}\n{\"create\":{}}\n{\"message\":\"es two %d\"}\n", run, run), nil, 200, 2},
		{"OTLP logs (JSON)", "/v1/logs", "Bearer " + otlpToken, "application/json",
			fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"e2e"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","body":{"stringValue":"otlp %d"}}]}]}]}`, run, run),
			nil, 200, 1},
	}
	for _, s := range sends {
		status, body := g.post(s.path, s.auth, s.ctype, []byte(s.body), s.header...)
		if status != s.wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", s.name, status, s.wantStatus, body)
		}
		if s.name == "Elasticsearch bulk" {
			var bulk struct {
				Errors bool `json:"errors"`
				Items  []map[string]struct {
					ID string `json:"_id"`
				} `json:"items"`
			}
			if err := json.Unmarshal(body, &bulk); err != nil || bulk.Errors || len(bulk.Items) != 2 {
				t.Fatalf("bulk response %s: %v", body, err)
			}
			for _, it := range bulk.Items {
				for _, v := range it {
					ids = append(ids, v.ID)
				}
			}
		}
	}
	// Syslog over TCP: one LF-framed RFC 5424 message, one octet-counted
	// RFC 3164 message.
	conn, err := net.Dial("tcp", g.syslog)
	if err != nil {
		t.Fatal(err)
	}
	m1 := fmt.Sprintf("<34>1 2026-11-25T10:00:00Z fw-01 firewall - - - syslog one %d\n", run)
	m2 := fmt.Sprintf("<13>Nov 25 10:00:01 fw-01 app: syslog two %d", run)
	if _, err := fmt.Fprintf(conn, "%s%d %s", m1, len(m2), m2); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	const total = 2 + 2 + 2 + 2 + 1 + 2
	last := g.waitAnchored(ctx, total)
	if last.Size != total {
		t.Fatalf("log size = %d, want %d (every protocol's events, nothing else)", last.Size, total)
	}

	auditor := dial(t, "org2", "auditor")
	for _, id := range ids {
		var ev eventResp
		if st := g.getJSON("/v1/events/"+id, &ev); st != http.StatusOK {
			t.Fatalf("GET /v1/events/%s: %d", id, st)
		}
		if err := merkle.VerifyEventInclusion(ev.Canonical, ev.Proof, ev.Root); err != nil {
			t.Fatalf("event %s inclusion proof: %v", id, err)
		}
		if !ev.Anchored || ev.TxID == "" || ev.Batch == nil {
			t.Fatalf("event %s: anchored=%v tx=%q batch=%v, want anchored with a transaction", id, ev.Anchored, ev.TxID, ev.Batch)
		}
		var onLedger wire.Batch
		evaluateJSON(ctx, t, auditor, wire.ContractEvents, wire.TxGetBatch, &onLedger, ev.Batch.ID)
		if onLedger.RootHash != ev.Root || onLedger.TreeSizeAfter != ev.Proof.TreeSize {
			t.Fatalf("event %s: ledger batch root %s size %d, want %s size %d", id, onLedger.RootHash, onLedger.TreeSizeAfter, ev.Root, ev.Proof.TreeSize)
		}
	}

	var cons gateway.ConsistencyProof
	if st := g.getJSON(fmt.Sprintf("/v1/consistency?from=%d&to=%d", first.Size, last.Size), &cons); st != http.StatusOK {
		t.Fatalf("GET /v1/consistency: %d", st)
	}
	if err := merkle.VerifyConsistency(first.Size, last.Size, cons.Hashes, first.Root, last.Root); err != nil {
		t.Fatalf("consistency %d -> %d: %v", first.Size, last.Size, err)
	}

	// Malformed and unauthenticated input is refused and stores nothing.
	refusals := []struct {
		name, path, auth, body string
		want                   int
	}{
		{"no token", "/v1/events", "", `{"event":"x"}`, http.StatusUnauthorized},
		{"wrong token", "/v1/events", "Bearer nope", `{"event":"x"}`, http.StatusUnauthorized},
		{"malformed line 2", "/v1/events", "Bearer " + ndjsonToken, "{\"event\":\"ok\"}\n{not json\n", http.StatusBadRequest},
	}
	for _, r := range refusals {
		if st, body := g.post(r.path, r.auth, "application/x-ndjson", []byte(r.body)); st != r.want {
			t.Errorf("%s: status %d, want %d: %s", r.name, st, r.want, body)
		}
	}
	var cp checkpoint
	g.getJSON("/v1/checkpoint", &cp)
	if cp.Size != total {
		t.Fatalf("log size after refused requests = %d, want %d", cp.Size, total)
	}
	if !strings.Contains(g.log(), "gateway started") {
		t.Error("gateway log lacks its start line")
	}
}
