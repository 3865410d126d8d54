package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// authEvents are n sshd-like events: failures and successes from a few
// sources against a few users, one every 20 s; every fourth is a process
// event no auth model applies to.
func authEvents(n int) []gateway.Event {
	out := make([]gateway.Event, n)
	for i := range out {
		outcome := "failure"
		if i%3 == 2 {
			outcome = "success"
		}
		class := gateway.ClassAuth
		if i%4 == 3 {
			class = gateway.ClassProcess
		}
		at := t0.Add(time.Duration(i) * 20 * time.Second)
		out[i] = gateway.Event{
			Received: at, Time: at, Source: "syslog", Sourcetype: "linux:auth", Host: "bastion", Class: class,
			Fields: map[string]any{
				"source.ip": fmt.Sprintf("10.0.0.%d", i%3), "user.name": fmt.Sprintf("user%d", i%5),
				"event.outcome": outcome, "attempt": i, "port": 22.0 + float64(i%2)/2,
			},
			Raw: []byte(fmt.Sprintf("sshd[%d]: %s password for user%d from 10.0.0.%d", 100+i, outcome, i%5, i%3)),
		}
	}
	return out
}

// exportBundle stores events in a fresh store (batches of batchSize),
// anchors every batch on a fake two-org ledger and exports them all.
func exportBundle(t *testing.T, events []gateway.Event, batchSize int) ([]byte, *store.Store) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, t.TempDir(), store.WithGateway(testMSP, testGW), store.WithBatchMaxEvents(batchSize), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := evidencetest.NewLedger("lgchannel", "ledgerguard", testMSP, "Org2MSP")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAnchored(ctx, b.ID, tx, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, s, l, request(t0, t0.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), s
}

var authSpec = features.Spec{
	Windows: []features.WindowSpec{
		{Name: "src_fail", Key: []string{"source.ip"}, Size: features.Duration(2 * time.Minute), Filter: map[string]string{"event.outcome": "failure"}, Distinct: "user.name"},
	},
	Features: []features.Feature{
		{Name: "failure", Kind: features.KindEquals, Field: "event.outcome", Value: "failure"},
		{Name: "fails", Kind: features.KindWindow, Window: "src_fail", Agg: "count"},
		{Name: "users", Kind: features.KindWindow, Window: "src_fail", Agg: "distinct"},
		{Name: "ratio", Kind: features.KindWindow, Window: "src_fail", Agg: "matched_ratio"},
		{Name: "attempt", Kind: features.KindNumeric, Field: "attempt", Transforms: []features.Transform{{Op: "log1p"}}},
		{Name: "port", Kind: features.KindCategorical, Field: "port", Vocab: []string{"22", "22.5"}, Other: true},
		{Name: "user", Kind: features.KindCategorical, Field: "user.name", Vocab: []string{"user0", "user1"}, Other: true},
	},
}

func isAuth(ev *gateway.Event) bool { return ev.Class == gateway.ClassAuth }

type vecRow struct {
	ID  string
	Seq uint64
	Vec []float32
}

func bundleFeatures(t *testing.T, r io.ReadSeeker) ([]vecRow, *evidence.Verified, error) {
	t.Helper()
	eng, err := features.Compile(authSpec)
	if err != nil {
		t.Fatal(err)
	}
	var rows []vecRow
	v, err := evidence.Features(context.Background(), r, eng, isAuth, func(ev *gateway.Event, vec []float32) error {
		rows = append(rows, vecRow{ev.ID, ev.Seq, slices.Clone(vec)})
		return nil
	})
	return rows, v, err
}

// The vectors computed from a verified bundle are those the live path
// computes: events read back from the store (as the alerter does) in seq
// order through a fresh engine.
func TestFeaturesFromBundleEqualLive(t *testing.T) {
	events := authEvents(23)
	bundle, s := exportBundle(t, events, 5)

	eng, err := features.Compile(authSpec)
	if err != nil {
		t.Fatal(err)
	}
	var want []vecRow
	for seq := uint64(0); seq < uint64(len(events)); seq++ {
		ev, err := s.EventBySeq(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if !isAuth(&ev) {
			continue
		}
		vec := make([]float32, eng.Width())
		eng.Extract(&ev, vec)
		want = append(want, vecRow{ev.ID, ev.Seq, vec})
	}

	// The same, computed from the in-memory events as ingested.
	eng2, _ := features.Compile(authSpec)
	var direct [][]float32
	for i := range events {
		if !isAuth(&events[i]) {
			continue
		}
		vec := make([]float32, eng2.Width())
		eng2.Extract(&events[i], vec)
		direct = append(direct, vec)
	}

	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			b, err := evidence.ReadBundle(bytes.NewReader(bundle))
			if err != nil {
				t.Fatal(err)
			}
			var enc bytes.Buffer
			if err := b.Write(&enc, gz); err != nil {
				t.Fatal(err)
			}
			got, v, err := bundleFeatures(t, bytes.NewReader(enc.Bytes()))
			if err != nil {
				t.Fatalf("Features: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("rows: got %d, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID || got[i].Seq != want[i].Seq || !slices.Equal(got[i].Vec, want[i].Vec) {
					t.Errorf("row %d: got %v, want %v", i, got[i], want[i])
				}
				if !slices.Equal(got[i].Vec, direct[i]) {
					t.Errorf("row %d: got %v, computed from the ingested event %v", i, got[i].Vec, direct[i])
				}
			}
			sum := sha256.Sum256(enc.Bytes())
			if v.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("sha256: got %s, want %x", v.SHA256, sum)
			}
			if v.Events != len(events) || v.Report.Batches != 5 || !v.Report.OK() {
				t.Errorf("verified: got %d events, %d batches, findings %v", v.Events, v.Report.Batches, v.Report.Findings)
			}
		})
	}
	// The window features must actually depend on earlier events, or the
	// order test above proves little.
	if !slices.ContainsFunc(want, func(r vecRow) bool { return r.Vec[1] >= 2 }) {
		t.Errorf("no window count above 1: %v", want)
	}
}

func TestFeaturesRefusesTamperedBundle(t *testing.T) {
	bundle, _ := exportBundle(t, authEvents(12), 5)
	tamper := map[string]func(*evidence.Bundle) error{
		"modified event": func(b *evidence.Bundle) error { return evidencetest.ModifyEvent(b, 1, 2) },
		"removed event":  func(b *evidence.Bundle) error { evidencetest.RemoveEvent(b, 0, 0); return nil },
		"swapped events": func(b *evidence.Bundle) error { evidencetest.SwapEventBytes(b, 2, 0, 1); return nil },
		"altered root":   func(b *evidence.Bundle) error { evidencetest.AlterRoot(b, 0); return nil },
		"stripped endorsement": func(b *evidence.Bundle) error {
			return evidencetest.StripEndorsement(b, 1, 1)
		},
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			b, err := evidence.ReadBundle(bytes.NewReader(bundle))
			if err != nil {
				t.Fatal(err)
			}
			if err := f(b); err != nil {
				t.Fatal(err)
			}
			var enc bytes.Buffer
			if err := b.Write(&enc, false); err != nil {
				t.Fatal(err)
			}
			rows, v, err := bundleFeatures(t, bytes.NewReader(enc.Bytes()))
			var nv *evidence.NotVerifiedError
			if !errors.As(err, &nv) || !errors.Is(err, evidence.ErrNotVerified) {
				t.Fatalf("got error %v, want *NotVerifiedError", err)
			}
			if len(nv.Report.Findings) == 0 {
				t.Error("NotVerifiedError without findings")
			}
			if len(rows) != 0 || v != nil {
				t.Errorf("got %d rows and %v from a bundle that does not verify", len(rows), v)
			}
		})
	}
}

// swapReader serves first until it is rewound, then second: a file
// replaced between the verifying and the reading pass.
type swapReader struct {
	first, second []byte
	cur           *bytes.Reader
	rewound       bool
}

func (s *swapReader) Read(p []byte) (int, error) {
	if s.cur == nil {
		s.cur = bytes.NewReader(s.first)
	}
	return s.cur.Read(p)
}

func (s *swapReader) Seek(off int64, whence int) (int64, error) {
	if s.cur == nil {
		s.cur = bytes.NewReader(s.first)
	}
	if whence == io.SeekStart && s.cur.Len() < len(s.first) && !s.rewound {
		s.rewound = true
		s.cur = bytes.NewReader(s.second)
	}
	return s.cur.Seek(off, whence)
}

func TestVerifiedEventsDetectsChangeBetweenPasses(t *testing.T) {
	bundle, _ := exportBundle(t, authEvents(7), 5)
	b, err := evidence.ReadBundle(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if err := evidencetest.ModifyEvent(b, 0, 1); err != nil {
		t.Fatal(err)
	}
	var tampered bytes.Buffer
	if err := b.Write(&tampered, false); err != nil {
		t.Fatal(err)
	}
	_, _, err = bundleFeatures(t, &swapReader{first: bundle, second: tampered.Bytes()})
	if !errors.Is(err, evidence.ErrChanged) {
		t.Fatalf("got error %v, want ErrChanged", err)
	}
}

func TestDecodeEventNumbers(t *testing.T) {
	ev, err := evidence.DecodeEvent([]byte(`{"id":"a","seq":3,"class":"auth","fields":{"n":12345678901234567890}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ev.Fields["n"].(interface{ String() string }); !ok || got.String() != "12345678901234567890" {
		t.Errorf("fields.n: got %#v, want json.Number", ev.Fields["n"])
	}
	if _, err := evidence.DecodeEvent([]byte(`{"id":"a"} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}
