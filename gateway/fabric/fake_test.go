package fabric

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// fakePeer is a Fabric Gateway service in process: each stage answers as
// the test sets it, so the fabric-gateway client builds its real per-stage
// errors (client.EndorseError, SubmitError, CommitStatusError) from them.
// Its fields are set before it serves and only read afterwards.
type fakePeer struct {
	gwproto.UnimplementedGatewayServer
	evaluateErr error
	endorseErr  error
	// endorse, when set, answers each endorsement from its proposal's
	// arguments (after the function name) and transient map, in place of
	// endorseErr: a chaincode whose answer depends on its input.
	endorse   func(args []string, transient map[string][]byte) error
	submitErr error
	statusErr error
	result    []byte
	code      peer.TxValidationCode
	block     uint64
	// hang makes the calls of one stage never answer (until the client
	// gives up): a peer or orderer stalled, or, at gateway.StageCommit, a
	// transaction the orderers lost, which no block ever holds. hangFirst
	// > 0 limits it to that many calls; later ones answer as usual.
	hang      gateway.Stage
	hangFirst int32
	hung      int32 // calls of the hang stage so far (atomic: calls are concurrent)
	// hungTxIDs are the ids of the transactions whose commit status hung.
	hungTxIDs chan string
}

// stall blocks until the client gives up on the call when stage is the one
// the test hangs, and reports whether it did.
func (f *fakePeer) stall(ctx context.Context, stage gateway.Stage) bool {
	if f.hang != stage {
		return false
	}
	if n := atomic.AddInt32(&f.hung, 1); f.hangFirst > 0 && n > f.hangFirst {
		return false
	}
	<-ctx.Done()
	return true
}

func (f *fakePeer) Evaluate(ctx context.Context, _ *gwproto.EvaluateRequest) (*gwproto.EvaluateResponse, error) {
	if f.stall(ctx, gateway.StageEvaluate) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if f.evaluateErr != nil {
		return nil, f.evaluateErr
	}
	return &gwproto.EvaluateResponse{Result: &peer.Response{Status: 200, Payload: f.result}}, nil
}

func (f *fakePeer) Endorse(ctx context.Context, req *gwproto.EndorseRequest) (*gwproto.EndorseResponse, error) {
	if f.stall(ctx, gateway.StageEndorse) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if f.endorse != nil {
		args, transient, err := proposalInput(req.GetProposedTransaction())
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if err := f.endorse(args, transient); err != nil {
			return nil, err
		}
	} else if f.endorseErr != nil {
		return nil, f.endorseErr
	}
	return &gwproto.EndorseResponse{PreparedTransaction: envelope(req.ChannelId, f.result)}, nil
}

func (f *fakePeer) Submit(ctx context.Context, _ *gwproto.SubmitRequest) (*gwproto.SubmitResponse, error) {
	if f.stall(ctx, gateway.StageSubmit) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	return &gwproto.SubmitResponse{}, nil
}

func (f *fakePeer) CommitStatus(ctx context.Context, req *gwproto.SignedCommitStatusRequest) (*gwproto.CommitStatusResponse, error) {
	if f.stall(ctx, gateway.StageCommit) {
		if f.hungTxIDs != nil {
			var r gwproto.CommitStatusRequest
			if err := proto.Unmarshal(req.GetRequest(), &r); err == nil {
				f.hungTxIDs <- r.GetTransactionId()
			}
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return &gwproto.CommitStatusResponse{Result: f.code, BlockNumber: f.block}, nil
}

// proposalInput returns a signed proposal's chaincode arguments after the
// function name, and its transient map.
func proposalInput(sp *peer.SignedProposal) ([]string, map[string][]byte, error) {
	var prop peer.Proposal
	if err := proto.Unmarshal(sp.GetProposalBytes(), &prop); err != nil {
		return nil, nil, err
	}
	var payload peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(prop.GetPayload(), &payload); err != nil {
		return nil, nil, err
	}
	var spec peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(payload.GetInput(), &spec); err != nil {
		return nil, nil, err
	}
	var args []string
	for i, a := range spec.GetChaincodeSpec().GetInput().GetArgs() {
		if i > 0 {
			args = append(args, string(a))
		}
	}
	return args, payload.GetTransientMap(), nil
}

// envelope is the smallest endorsed transaction the client parses: a
// channel header and one action whose chaincode response carries result.
func envelope(channel string, result []byte) *common.Envelope {
	must := func(m proto.Message) []byte {
		b, _ := proto.Marshal(m) // these messages hold only valid fields: Marshal cannot fail
		return b
	}
	action := must(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: result}})
	crp := must(&peer.ProposalResponsePayload{Extension: action})
	cap := must(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: crp}})
	tx := must(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: cap}}})
	ch := must(&common.ChannelHeader{ChannelId: channel})
	return &common.Envelope{Payload: must(&common.Payload{Header: &common.Header{ChannelHeader: ch}, Data: tx})}
}

type fakeID struct{}

func (fakeID) MspID() string       { return "Org1MSP" }
func (fakeID) Credentials() []byte { return []byte("cert") }

// newFakeLedger serves f in process and returns a Ledger dialled to it.
func newFakeLedger(t *testing.T, f *fakePeer) *Ledger {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	gwproto.RegisterGatewayServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///fake-peer",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := client.Connect(fakeID{}, client.WithSign(func([]byte) ([]byte, error) { return []byte("sig"), nil }),
		client.WithClientConnection(conn))
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{gw: gw, conn: conn, mspID: "Org1MSP"}
	t.Cleanup(func() { _ = c.Close() })
	return NewLedger(c, "lgchannel", "ledgerguard")
}

// checkEndorsements compares the endorsements a fake peer saw with the
// ones a test wants, in order.
func checkEndorsements[E comparable](t *testing.T, got, want []E) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("endorsements %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("endorsement %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
