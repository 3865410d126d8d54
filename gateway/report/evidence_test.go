package report_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/report"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// bundleFixture anchors three batches of a real store on a fake ledger and
// exports their bundle: the bundle and the ledger's batch records.
func bundleFixture(t *testing.T) ([]byte, []wire.Batch) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw1"), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	events := make([]gateway.Event, 10)
	for i := range events {
		events[i] = gateway.Event{Received: t0, Time: t0.Add(time.Duration(i) * time.Minute), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("failed login %d", i))}
	}
	if _, err := st.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := evidencetest.NewLedger("lgchannel", "ledgerguard", "Org1MSP", "Org2MSP")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batches []wire.Batch
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkAnchored(ctx, b.ID, tx, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
		wb, err := l.AnchoredBatch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, wb)
	}
	var buf bytes.Buffer
	req := evidence.Request{GatewayMSP: "Org1MSP", GatewayID: "gw1", Channel: "lgchannel", Chaincode: "ledgerguard", From: t0, To: t0.Add(time.Hour)}
	if _, err := evidence.Export(ctx, &buf, st, l, req); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), batches
}

func TestCheckBundle(t *testing.T) {
	ctx := context.Background()
	bundle, batches := bundleFixture(t)
	clean, err := evidence.ReadBundle(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(f func(b *evidence.Bundle) error) []byte {
		t.Helper()
		b, err := evidencetest.Clone(clean)
		if err != nil {
			t.Fatal(err)
		}
		if err := f(b); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := b.Write(&out, true); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	tests := []struct {
		name        string
		bundle      []byte
		ledger      []wire.Batch
		wantVerdict string
		wantFinding string
	}{
		{"clean", bundle, batches, report.VerdictVerified, ""},
		{"clean, gzip", tamper(func(*evidence.Bundle) error { return nil }), batches, report.VerdictVerified, ""},
		{"modified event", tamper(func(b *evidence.Bundle) error { return evidencetest.ModifyEvent(b, 1, 1) }), batches, report.VerdictFailed, "modified"},
		{"removed event", tamper(func(b *evidence.Bundle) error { evidencetest.RemoveEvent(b, 0, 2); return nil }), batches, report.VerdictFailed, "removed"},
		{"ledger has a batch the bundle lacks", bundle, append(append([]wire.Batch{}, batches...), wire.Batch{
			ID: "extra", MSP: "Org1MSP", GatewayID: "gw1", TreeSizeBefore: 10, TreeSizeAfter: 11,
			FirstEventTime: wire.NewTime(t0.Add(30 * time.Minute)), LastEventTime: wire.NewTime(t0.Add(30 * time.Minute)), TxID: "tx-extra"}),
			report.VerdictIncomplete, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := report.CheckBundle(ctx, bytes.NewReader(tt.bundle), "test", "b.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.bundle)
			if ev.BundleSHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("bundle sha256: got %s, want the file's", ev.BundleSHA256)
			}
			in := fakeInputs()
			in.Batches, in.Evidence = tt.ledger, ev
			in.Alerts, in.Responses = nil, nil
			r, err := report.Assemble(in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Evidence.Verdict != tt.wantVerdict {
				t.Errorf("verdict: got %q, want %q; findings %v, missing %v", r.Evidence.Verdict, tt.wantVerdict, r.Evidence.Findings, r.Evidence.Missing)
			}
			if tt.wantFinding != "" && !strings.Contains(strings.Join(r.Evidence.Findings, "\n"), tt.wantFinding) {
				t.Errorf("findings %v lack %q", r.Evidence.Findings, tt.wantFinding)
			}
			if tt.wantVerdict == report.VerdictVerified {
				if r.Anchoring.Batches != 3 || r.Anchoring.Events != 10 {
					t.Errorf("anchoring: got %d batches %d events, want 3 and 10", r.Anchoring.Batches, r.Anchoring.Events)
				}
				for i, b := range r.Anchoring.Items {
					if b.Block == nil {
						t.Errorf("batch %d %s: no block, want the anchoring transaction's", i, b.ID)
					}
				}
				if len(r.Evidence.TrustedCAs) != 2 || r.Evidence.Endorsements == 0 {
					t.Errorf("evidence: got %+v, want two trusted CAs and endorsements", r.Evidence)
				}
			}
		})
	}
}

func TestCheckBundleRefusesUnreadable(t *testing.T) {
	for _, b := range []string{"", "hello\n", `{"header":{"version":99}}` + "\n"} {
		if _, err := report.CheckBundle(context.Background(), strings.NewReader(b), "test", "b"); err == nil {
			t.Errorf("CheckBundle(%q): no error, want one (no header to trust)", b)
		}
	}
}
