package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// TestEvidence anchors three batches of a real store on the network with
// the Org1 gateway identity, exports a bundle through the real ledger as the
// auditor (transactions from qscc, CA certificates from the channel's
// config block), verifies it offline and online, then checks that verify
// names the events or batch of each kind of tampering, and finally drives
// the same through the ledgerguard CLI.
func TestEvidence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gwID := fmt.Sprintf("ev-%d", time.Now().UnixNano())
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.WithGateway("Org1MSP", gwID), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Second)
	events := make([]gateway.Event, 10)
	for i := range events {
		events[i] = gateway.Event{
			Received: start, Time: start.Add(time.Duration(i) * time.Second), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("%s failed login %d", gwID, i)),
		}
	}
	if _, err := st.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending batches: %d, %v; want 3", len(pending), err)
	}
	ledger := fabric.NewLedger(dial(t, "org1", gatewayIdentity(t, "org1", gwID)), channelName, chaincodeName)
	for _, b := range pending {
		anc, err := ledger.AnchorBatch(ctx, b)
		if err != nil {
			t.Fatalf("anchor batch %s: %v", b.ID, err)
		}
		if err := st.MarkAnchored(ctx, b.ID, anc.TxID, anc.BlockNumber); err != nil {
			t.Fatal(err)
		}
	}

	src := fabric.NewEvidenceSource(dial(t, "org1", "auditor"), channelName, chaincodeName)
	req := evidence.Request{GatewayMSP: "Org1MSP", GatewayID: gwID, Channel: channelName, Chaincode: chaincodeName,
		From: start.Add(-time.Minute), To: start.Add(time.Hour)}
	var buf bytes.Buffer
	sum, err := evidence.Export(ctx, &buf, st, src, req)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if sum != (evidence.Summary{Batches: 3, Events: 10}) {
		t.Fatalf("export summary: got %+v, want 3 batches, 10 events", sum)
	}
	bundle := buf.Bytes()

	for _, online := range []bool{false, true} {
		var opts []evidence.VerifyOption
		if online {
			opts = append(opts, evidence.WithOnline(src))
		}
		rep, err := evidence.Verify(ctx, bytes.NewReader(bundle), opts...)
		if err != nil {
			t.Fatalf("verify (online %v): %v", online, err)
		}
		for _, f := range rep.Findings {
			t.Errorf("verify (online %v) of the untouched bundle: %s", online, f)
		}
		// AND('Org1MSP.peer','Org2MSP.peer'): two endorsements per anchor.
		if got := [3]int{rep.Batches, rep.Transactions, rep.Endorsements}; got != [3]int{3, 3, 6} {
			t.Errorf("batches, transactions, endorsements: got %v, want [3 3 6]", got)
		}
		if len(rep.Orgs) != 2 {
			t.Errorf("trusted orgs: got %+v, want Org1MSP and Org2MSP from the channel config", rep.Orgs)
		}
	}

	clean, err := evidence.ReadBundle(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	id := func(bi, ei int) string { return clean.Batches[bi].Events[ei].ID }
	type want struct {
		kind  evidence.Kind
		event string
		seq   int64
	}
	tests := []struct {
		name   string
		tamper func(*evidence.Bundle) ([]want, error)
	}{
		{"modify", func(b *evidence.Bundle) ([]want, error) {
			return []want{{evidence.KindModified, id(1, 1), 5}}, evidencetest.ModifyEvent(b, 1, 1)
		}},
		{"remove", func(b *evidence.Bundle) ([]want, error) {
			evidencetest.RemoveEvent(b, 1, 1)
			return []want{{evidence.KindRemoved, "", 5}}, nil
		}},
		{"insert", func(b *evidence.Bundle) ([]want, error) {
			fake, err := evidencetest.InsertEvent(b, 1, 1)
			return []want{{evidence.KindInserted, fake, 5}}, err
		}},
		{"reorder", func(b *evidence.Bundle) ([]want, error) {
			evidencetest.SwapEventLines(b, 0, 0, 2)
			return []want{{evidence.KindReordered, id(0, 0), 0}, {evidence.KindReordered, id(0, 2), 2}}, nil
		}},
		{"alter root", func(b *evidence.Bundle) ([]want, error) {
			evidencetest.AlterRoot(b, 1)
			return []want{{evidence.KindRoot, "", -1}}, nil
		}},
		{"alter endorsement signature", func(b *evidence.Bundle) ([]want, error) {
			return []want{{evidence.KindEndorsement, "", -1}, {evidence.KindEndorsement, "", -1}, {evidence.KindTransaction, "", -1}},
				evidencetest.AlterEndorsementSignature(b, 1, 1)
		}},
		{"strip endorsement", func(b *evidence.Bundle) ([]want, error) {
			return []want{{evidence.KindEndorsement, "", -1}, {evidence.KindTransaction, "", -1}}, evidencetest.StripEndorsement(b, 1, 0)
		}},
		{"swap transaction", func(b *evidence.Bundle) ([]want, error) {
			evidencetest.SwapTransaction(b, 1, 2)
			return []want{{evidence.KindTransaction, "", -1}}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := evidencetest.Clone(clean)
			if err != nil {
				t.Fatal(err)
			}
			w, err := tt.tamper(b)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := b.Write(&out, false); err != nil {
				t.Fatal(err)
			}
			rep, err := evidence.Verify(ctx, &out)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range rep.Findings {
				seq := int64(-1)
				if f.HasSeq {
					seq = int64(f.Seq)
				}
				got = append(got, want{f.Kind, f.EventID, seq})
			}
			key := func(x want) string { return fmt.Sprintf("%s/%s/%d", x.kind, x.event, x.seq) }
			sortW := func(ws []want) { slices.SortFunc(ws, func(a, b want) int { return strings.Compare(key(a), key(b)) }) }
			sortW(got)
			sortW(w)
			if !slices.Equal(got, w) {
				t.Errorf("findings:\n got %v\nwant %v", got, w)
				for _, f := range rep.Findings {
					t.Log(f)
				}
			}
		})
	}

	// The CLI: export from the (closed) store directory, verify, tamper.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	bin := gatewayBinary(t)
	profile := filepath.Join(env.runDir, "connection-org1.json")
	file := filepath.Join(t.TempDir(), "bundle.jsonl.gz")
	out, err := exec.CommandContext(ctx, bin, "export", "--store", dir, "--gateway-msp", "Org1MSP", "--gateway-id", gwID,
		"--profile", profile, "--identity", "auditor", "--from", start.Add(-time.Minute).Format(time.RFC3339),
		"--to", start.Add(time.Hour).Format(time.RFC3339), "-o", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ledgerguard export: %v\n%s", err, out)
	}
	code, out := runCode(ctx, bin, "verify", "--online", "--profile", profile, "--identity", "auditor", file)
	if code != 0 || !strings.Contains(string(out), "OK:") {
		t.Fatalf("ledgerguard verify --online of a clean bundle: exit %d\n%s", code, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.ReadBundle(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := evidencetest.ModifyEvent(b, 2, 0); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.jsonl")
	var tb bytes.Buffer
	if err := b.Write(&tb, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered, tb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCode(ctx, bin, "verify", tampered)
	wantLine := fmt.Sprintf("modified: event %s seq 8", b.Batches[2].Events[0].ID)
	if code != 1 || !strings.Contains(string(out), wantLine) {
		t.Fatalf("ledgerguard verify of a tampered bundle: exit %d, want 1 with %q\n%s", code, wantLine, out)
	}
	if code, out = runCode(ctx, bin, "verify"); code != 2 {
		t.Fatalf("ledgerguard verify without a file: exit %d, want 2\n%s", code, out)
	}
}

// runCode runs the binary and returns its exit status and combined output.
func runCode(ctx context.Context, bin string, args ...string) (int, []byte) {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out
	}
	if err != nil {
		return -1, append(out, err.Error()...)
	}
	return 0, out
}
