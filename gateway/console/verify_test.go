package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// fixture is a real store of 13 events in 3 batches anchored on an
// in-memory ledger, and the evidence bundle exported from it.
type fixture struct {
	store  *store.Store
	batch  []gateway.Batch
	bundle []byte
	ledger *evidencetest.Ledger
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func testFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture(t.TempDir()) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func testBundle(t testing.TB) []byte { return testFixture(t).bundle }

func newFixture(dir string) (*fixture, error) {
	ctx := context.Background()
	s, err := store.Open(ctx, dir, store.WithGateway("Org1MSP", "gw-1"), store.WithBatchMaxEvents(5), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		return nil, err
	}
	events := make([]gateway.Event, 13)
	for i := range events {
		events[i] = gateway.Event{Received: t0, Time: t0.Add(time.Duration(i) * time.Second), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("Failed password for root from 10.0.0.%d", i))}
	}
	if _, err := s.Append(ctx, events); err != nil {
		return nil, err
	}
	if _, _, err := s.Seal(ctx); err != nil {
		return nil, err
	}
	l, err := evidencetest.NewLedger("lgchannel", "ledgerguard", "Org1MSP", "Org2MSP")
	if err != nil {
		return nil, err
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		return nil, err
	}
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			return nil, err
		}
		if err := s.MarkAnchored(ctx, b.ID, tx, uint64(10+i)); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, s, l, evidence.Request{GatewayMSP: "Org1MSP", GatewayID: "gw-1", Channel: "lgchannel",
		Chaincode: "ledgerguard", From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}); err != nil {
		return nil, err
	}
	for i := range pending {
		if pending[i], err = s.Batch(ctx, pending[i].ID); err != nil {
			return nil, err
		}
	}
	return &fixture{store: s, batch: pending, bundle: buf.Bytes(), ledger: l}, nil
}

func TestVerifyGoodAndTamperedBundles(t *testing.T) {
	good := testBundle(t)
	b, err := evidence.ReadBundle(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := evidencetest.ModifyEvent(b, 1, 2); err != nil {
		t.Fatal(err)
	}
	var tampered bytes.Buffer
	if err := b.Write(&tampered, false); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{})
	br := h.signIn(readTok)
	for _, tc := range []struct {
		name    string
		bundle  []byte
		ok      bool
		verdict string
		kind    string
	}{
		{"good", good, true, "OK: every event, batch, transaction and endorsement verified", ""},
		{"tampered", tampered.Bytes(), false, "FAILED:", "modified"},
	} {
		st, body, hdr := br.upload(br.csrf, tc.bundle)
		if st != http.StatusSeeOther {
			t.Fatalf("%s: upload %d\n%s", tc.name, st, body)
		}
		v := waitJob(t, br, hdr.Get("Location"))
		if v.OK != tc.ok || !strings.HasPrefix(v.Verdict, tc.verdict) || v.Events != 13 {
			t.Errorf("%s: got ok=%t verdict %q events %d, want ok=%t %q 13", tc.name, v.OK, v.Verdict, v.Events, tc.ok, tc.verdict)
		}
		if tc.kind != "" && (len(v.Findings) == 0 || !strings.HasPrefix(v.Findings[0], tc.kind+": event ")) {
			t.Errorf("%s: findings %q, want one naming a %s event", tc.name, v.Findings, tc.kind)
		}
		_, page, _ := br.get(hdr.Get("Location"))
		if !strings.Contains(page, tc.verdict) || !strings.Contains(page, `id="verify-progress"`) {
			t.Errorf("%s: job page lacks the verdict or the progress bar", tc.name)
		}
	}
}

func TestAlertPageShowsTheCitedEventWithItsProof(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	batch := f.batch[1]
	leaves, err := f.store.Leaves(ctx, batch.TreeSizeBefore, batch.TreeSizeAfter)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(0)
	a.BatchID, a.EventHash = batch.ID, hex.EncodeToString(leaves[2].LeafHash[:])
	h := newHarness(t, Config{}, func(d *Deps) {
		d.Store = f.store
		d.Blocks = func(context.Context, string) (uint64, error) { return 42, nil }
	})
	h.ledger.alerts = []wire.Alert{a}
	b := h.signIn(readTok)
	st, body, _ := b.get(Prefix + "/alerts/" + a.BatchID + "/" + a.ID)
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, body)
	}
	proof, err := f.store.InclusionProof(ctx, batch.TreeSizeBefore+2, batch.TreeSizeAfter)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{leaves[2].Event.ID, batch.RootHash, batch.TxID, "<td>42</td>"}, proof.Hashes...) {
		if !strings.Contains(body, want) {
			t.Errorf("alert page lacks %q", want)
		}
	}
}
