package fabric

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// peerError is a Fabric Gateway error as a peer sends it: a gRPC status
// whose details carry each failing endorser's own message.
func peerError(t *testing.T, code codes.Code, msg string, endorserMsgs ...string) error {
	t.Helper()
	st := status.New(code, msg)
	for i, m := range endorserMsgs {
		d := &gwproto.ErrorDetail{Address: fmt.Sprintf("peer%d:7051", i), MspId: fmt.Sprintf("Org%dMSP", i+1), Message: m}
		var err error
		if st, err = st.WithDetails(d); err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// refused is how a peer reports a chaincode refusal encoded by wire.Encode.
func refused(t *testing.T, code wire.Code, msg string) error {
	t.Helper()
	text := "chaincode response 500, " + (&wire.Error{Code: code, Message: msg}).Error()
	return peerError(t, codes.Aborted, "evaluate call to endorser returned error: "+text, text)
}

// want is a classification: transient (retry) or rejected (refuse), with
// the code, stage and whether a transaction id must be named.
type want struct {
	transient bool
	code      wire.Code
	stage     gateway.Stage
	txID      string // "" none, "any" some id, else exactly this one
}

func check(t *testing.T, err error, w want) {
	t.Helper()
	var (
		u *gateway.LedgerUnavailableError
		r *gateway.LedgerRejectedError
	)
	gotTransient := errors.Is(err, gateway.ErrLedgerUnavailable)
	if gotTransient != w.transient || errors.As(err, &r) == w.transient || errors.As(err, &u) != w.transient {
		t.Fatalf("err = %v (%T): transient %v, want transient %v and exactly one typed error", err, err, gotTransient, w.transient)
	}
	var code wire.Code
	var stage gateway.Stage
	var txID string
	if w.transient {
		code, stage, txID = u.Code, u.Stage, u.TxID
	} else {
		code, stage, txID = r.Code, r.Stage, r.TxID
	}
	if got, want := code, w.code; got != want {
		t.Errorf("code = %q, want %q (%v)", got, want, err)
	}
	if got, want := stage, w.stage; got != want {
		t.Errorf("stage = %q, want %q (%v)", got, want, err)
	}
	switch {
	case w.txID == "any" && txID == "":
		t.Errorf("no tx id in %v", err)
	case w.txID != "any" && txID != w.txID:
		t.Errorf("tx id = %q, want %q", txID, w.txID)
	}
}

func TestClassifyErrorCodes(t *testing.T) {
	tests := []struct {
		code wire.Code
		want want
	}{
		{wire.CodeInvalid, want{false, wire.CodeInvalid, gateway.StageEvaluate, ""}},
		{wire.CodeNotFound, want{false, wire.CodeNotFound, gateway.StageEvaluate, ""}},
		{wire.CodeConflict, want{false, wire.CodeConflict, gateway.StageEvaluate, ""}},
		{wire.CodeDenied, want{false, wire.CodeDenied, gateway.StageEvaluate, ""}},
		{wire.CodeState, want{false, wire.CodeState, gateway.StageEvaluate, ""}},
		{wire.CodeInternal, want{false, wire.CodeInternal, gateway.StageEvaluate, ""}},
		{wire.CodeUnavailable, want{true, wire.CodeUnavailable, gateway.StageEvaluate, ""}},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			err := classify(wire.TxGetAlert, gateway.StageEvaluate, refused(t, tt.code, "alert b/a is nowhere"))
			check(t, err, tt.want)
			var r *gateway.LedgerRejectedError
			if errors.As(err, &r) && r.Reason != "alert b/a is nowhere" {
				t.Errorf("reason = %q, want the chaincode's message without its code", r.Reason)
			}
		})
	}
}

func TestClassifyFabricFailures(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want want
	}{
		{"peer unreachable", status.Error(codes.Unavailable, "connection refused"), want{true, "", gateway.StageEvaluate, ""}},
		{"deadline in the client", fmt.Errorf("evaluate: %w", context.DeadlineExceeded), want{true, "", gateway.StageEvaluate, ""}},
		{"deadline at the peer", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), want{true, "", gateway.StageEvaluate, ""}},
		// Every refusal the chaincode sends is coded (chaincode/coded.go codes
		// even contractapi's own "function not found"), so an Aborted without
		// a ledgerguard code is Fabric itself failing to endorse: transient.
		{"uncoded Aborted: Fabric failed to endorse",
			peerError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info",
				"failed to execute transaction: could not launch chaincode ledgerguard_1.0: timeout expired"), want{true, "", gateway.StageEvaluate, ""}},
		{"endorser down", peerError(t, codes.Aborted, "failed to endorse transaction", "rpc error: code = Unavailable"), want{true, "", gateway.StageEvaluate, ""}},
		{"permission denied", status.Error(codes.PermissionDenied, "creator org unknown"), want{false, wire.CodeInternal, gateway.StageEvaluate, ""}},
		{"invalid argument", status.Error(codes.InvalidArgument, "bad proposal"), want{false, wire.CodeInternal, gateway.StageEvaluate, ""}},
		{"channel not found", status.Error(codes.NotFound, "channel nope not found"), want{false, wire.CodeInternal, gateway.StageEvaluate, ""}},
		{"mvcc", &client.CommitError{TransactionID: "tx1", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}, want{true, "", gateway.StageCommit, "tx1"}},
		{"phantom", &client.CommitError{TransactionID: "tx2", Code: peer.TxValidationCode_PHANTOM_READ_CONFLICT}, want{true, "", gateway.StageCommit, "tx2"}},
		{"duplicate tx id", &client.CommitError{TransactionID: "tx3", Code: peer.TxValidationCode_DUPLICATE_TXID}, want{true, "", gateway.StageCommit, "tx3"}},
		{"endorsement policy", &client.CommitError{TransactionID: "tx4", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE}, want{false, wire.CodeInternal, gateway.StageCommit, "tx4"}},
		{"endorsers disagree on codes: the final one wins",
			peerError(t, codes.Aborted, "failed to endorse transaction",
				"chaincode response 500, ledgerguard/UNAVAILABLE: read failed", "chaincode response 500, ledgerguard/DENIED: needs admin"),
			want{false, wire.CodeDenied, gateway.StageEvaluate, ""}},
		{"unknown", errors.New("something odd"), want{true, "", gateway.StageEvaluate, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, classify("Op", gateway.StageEvaluate, tt.err), tt.want)
		})
	}
}

// TestLedgerErrorsThroughTheClient drives the fabric-gateway client against
// an in-process peer, so each failure reaches classify as the real
// client.*Error of its stage, with the client's own transaction id.
func TestLedgerErrorsThroughTheClient(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection refused")
	tests := []struct {
		name string
		peer fakePeer
		call func(context.Context, *Ledger) error
		want want
	}{
		{"evaluate refused", fakePeer{evaluateErr: refused(t, wire.CodeDenied, "needs auditor")},
			func(ctx context.Context, l *Ledger) error {
				_, err := l.Evaluate(ctx, wire.ContractAlerts, wire.TxListAlerts)
				return err
			},
			want{false, wire.CodeDenied, gateway.StageEvaluate, ""}},
		{"endorse refused", fakePeer{endorseErr: refused(t, wire.CodeConflict, "batch does not extend")},
			func(ctx context.Context, l *Ledger) error { _, err := l.AnchorBatch(ctx, gateway.Batch{}); return err },
			want{false, wire.CodeConflict, gateway.StageEndorse, "any"}},
		{"endorse unavailable code", fakePeer{endorseErr: refused(t, wire.CodeUnavailable, "state read failed")},
			func(ctx context.Context, l *Ledger) error { _, err := l.RaiseAlerts(ctx, nil); return err },
			want{true, wire.CodeUnavailable, gateway.StageEndorse, "any"}},
		{"endorser unreachable", fakePeer{endorseErr: unavailable},
			func(ctx context.Context, l *Ledger) error { _, err := l.RaiseAlerts(ctx, nil); return err },
			want{true, "", gateway.StageEndorse, "any"}},
		{"orderer unreachable", fakePeer{result: []byte("{}"), submitErr: unavailable},
			func(ctx context.Context, l *Ledger) error { _, err := l.AnchorBatch(ctx, gateway.Batch{}); return err },
			want{true, "", gateway.StageSubmit, "any"}},
		{"commit status unreachable", fakePeer{result: []byte("{}"), statusErr: unavailable},
			func(ctx context.Context, l *Ledger) error {
				_, err := l.Submit(ctx, wire.ContractSystem, wire.TxHeartbeat, "x")
				return err
			},
			want{true, "", gateway.StageCommit, "any"}},
		{"mvcc conflict", fakePeer{result: []byte("{}"), code: peer.TxValidationCode_MVCC_READ_CONFLICT},
			func(ctx context.Context, l *Ledger) error { _, err := l.AnchorBatch(ctx, gateway.Batch{}); return err },
			want{true, "", gateway.StageCommit, "any"}},
		{"committed invalid", fakePeer{result: []byte("{}"), code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE},
			func(ctx context.Context, l *Ledger) error { _, err := l.RaiseAlerts(ctx, nil); return err },
			want{false, wire.CodeInternal, gateway.StageCommit, "any"}},
		{"outcome for a response a lagging endorser lacks", fakePeer{endorseErr: refused(t, wire.CodeNotFound, `response "ab12" not found`)},
			func(ctx context.Context, l *Ledger) error {
				return l.RecordOutcome(ctx, "ab12", wire.ResponseSucceeded, "done")
			},
			want{true, wire.CodeNotFound, gateway.StageEndorse, "any"}},
		{"outcome refused", fakePeer{endorseErr: refused(t, wire.CodeDenied, "not this org's gateway")},
			func(ctx context.Context, l *Ledger) error {
				return l.RecordOutcome(ctx, "ab12", wire.ResponseSucceeded, "done")
			},
			want{false, wire.CodeDenied, gateway.StageEndorse, "any"}},
		{"anchored size denied", fakePeer{evaluateErr: refused(t, wire.CodeDenied, "needs gateway")},
			func(ctx context.Context, l *Ledger) error { _, err := l.AnchoredSize(ctx, "Org1MSP", "gw"); return err },
			want{false, wire.CodeDenied, gateway.StageEvaluate, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLedger(t, &tt.peer)
			check(t, tt.call(context.Background(), l), tt.want)
		})
	}
}

func TestAnchoredSize(t *testing.T) {
	tests := []struct {
		name string
		peer fakePeer
		want uint64
	}{
		{"nothing anchored yet", fakePeer{evaluateErr: refused(t, wire.CodeNotFound, "checkpoint Org1MSP/gw not found")}, 0},
		{"anchored", fakePeer{result: []byte(`{"treeSize":42}`)}, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newFakeLedger(t, &tt.peer).AnchoredSize(context.Background(), "Org1MSP", "gw")
			if err != nil || got != tt.want {
				t.Fatalf("AnchoredSize = %d, %v; want %d, nil", got, err, tt.want)
			}
		})
	}
}

func TestAnchorBatchCommitted(t *testing.T) {
	l := newFakeLedger(t, &fakePeer{result: []byte(`{}`), block: 7})
	got, err := l.AnchorBatch(context.Background(), gateway.Batch{})
	if err != nil || got.TxID == "" || got.BlockNumber != 7 || got.Replayed {
		t.Fatalf("AnchorBatch = %+v, %v; want a fresh anchor in block 7", got, err)
	}
	l = newFakeLedger(t, &fakePeer{result: []byte(`{"txId":"earlier"}`), block: 8})
	got, err = l.AnchorBatch(context.Background(), gateway.Batch{})
	if err != nil || got != (gateway.Anchor{TxID: "earlier", Replayed: true}) {
		t.Fatalf("AnchorBatch of a held batch = %+v, %v; want replayed with tx earlier", got, err)
	}
}

func TestAnchoredBatchNotAnchored(t *testing.T) {
	tests := []struct {
		name        string
		peer        fakePeer
		notAnchored bool
	}{
		{"not found", fakePeer{evaluateErr: refused(t, wire.CodeNotFound, "batch b1 not found")}, true},
		{"denied", fakePeer{evaluateErr: refused(t, wire.CodeDenied, "needs auditor")}, false},
		{"peer down", fakePeer{evaluateErr: status.Error(codes.Unavailable, "down")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLedger(t, &tt.peer)
			src := &EvidenceSource{l: l}
			_, err := src.AnchoredBatch(context.Background(), "b1")
			var ee *EvidenceError
			if !errors.As(err, &ee) || errors.Is(err, evidence.ErrNotAnchored) != tt.notAnchored {
				t.Fatalf("AnchoredBatch error = %v; want an *EvidenceError, not anchored %v", err, tt.notAnchored)
			}
		})
	}
}

// TestConflictsAreMarked: only read conflicts (the races a concurrent
// submitter causes itself) carry gateway.ErrLedgerConflict; every other
// failure, transient or not, does not.
func TestConflictsAreMarked(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"mvcc", &client.CommitError{TransactionID: "tx1", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}, true},
		{"phantom", &client.CommitError{TransactionID: "tx2", Code: peer.TxValidationCode_PHANTOM_READ_CONFLICT}, true},
		{"duplicate tx id", &client.CommitError{TransactionID: "tx3", Code: peer.TxValidationCode_DUPLICATE_TXID}, false},
		{"endorsement policy", &client.CommitError{TransactionID: "tx4", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE}, false},
		{"peer unreachable", status.Error(codes.Unavailable, "connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("Op", gateway.StageEvaluate, tt.err)
			if got := errors.Is(err, gateway.ErrLedgerConflict); got != tt.want {
				t.Fatalf("errors.Is(%v, ErrLedgerConflict) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
