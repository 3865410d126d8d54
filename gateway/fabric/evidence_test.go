package fabric

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplicationMSPs(t *testing.T) {
	org := func(name string, nodeOUs bool) *common.ConfigGroup {
		fc := &msp.FabricMSPConfig{Name: name, RootCerts: [][]byte{[]byte("root-" + name)}, IntermediateCerts: [][]byte{[]byte("int-" + name)}}
		if nodeOUs {
			fc.FabricNodeOus = &msp.FabricNodeOUs{Enable: true, PeerOuIdentifier: &msp.FabricOUIdentifier{OrganizationalUnitIdentifier: "peer"}}
		}
		mc := &msp.MSPConfig{Type: 0, Config: mustMarshal(t, fc)}
		return &common.ConfigGroup{Values: map[string]*common.ConfigValue{"MSP": {Value: mustMarshal(t, mc)}}}
	}
	cfg := &common.ConfigEnvelope{Config: &common.Config{ChannelGroup: &common.ConfigGroup{Groups: map[string]*common.ConfigGroup{
		"Application": {Groups: map[string]*common.ConfigGroup{"Org2": org("Org2MSP", false), "Org1": org("Org1MSP", true)}},
		"Orderer":     {Groups: map[string]*common.ConfigGroup{"OrdererOrg": org("OrdererMSP", true)}},
	}}}}
	payload := mustMarshal(t, &common.Payload{Data: mustMarshal(t, cfg)})
	block := &common.Block{Header: &common.BlockHeader{Number: 3}, Data: &common.BlockData{Data: [][]byte{mustMarshal(t, &common.Envelope{Payload: payload})}}}
	got, err := ApplicationMSPs(block)
	if err != nil {
		t.Fatal(err)
	}
	want := []evidence.OrgMSP{
		{MSPID: "Org1MSP", RootCerts: []string{"root-Org1MSP"}, IntermediateCerts: []string{"int-Org1MSP"}, PeerOU: "peer"},
		{MSPID: "Org2MSP", RootCerts: []string{"root-Org2MSP"}, IntermediateCerts: []string{"int-Org2MSP"}},
	}
	if !slices.EqualFunc(got, want, func(a, b evidence.OrgMSP) bool {
		return a.MSPID == b.MSPID && a.PeerOU == b.PeerOU && slices.Equal(a.RootCerts, b.RootCerts) && slices.Equal(a.IntermediateCerts, b.IntermediateCerts)
	}) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := ApplicationMSPs(&common.Block{}); err == nil {
		t.Error("empty block: got nil error")
	}
}

func TestTransactionInBlock(t *testing.T) {
	env := func(tx string) []byte {
		ch := mustMarshal(t, &common.ChannelHeader{TxId: tx})
		return mustMarshal(t, &common.Envelope{Payload: mustMarshal(t, &common.Payload{Header: &common.Header{ChannelHeader: ch}})})
	}
	filter := make([][]byte, int(common.BlockMetadataIndex_TRANSACTIONS_FILTER)+1)
	filter[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = []byte{0, 11}
	block := &common.Block{Header: &common.BlockHeader{Number: 9}, Data: &common.BlockData{Data: [][]byte{env("a"), env("b")}},
		Metadata: &common.BlockMetadata{Metadata: filter}}
	tests := []struct {
		tx       string
		wantCode int32
		wantErr  bool
	}{{"a", 0, false}, {"b", 11, false}, {"c", 0, true}}
	for _, tt := range tests {
		got, code, err := TransactionInBlock(block, tt.tx)
		if (err != nil) != tt.wantErr || code != tt.wantCode || (err == nil && !bytes.Equal(got, env(tt.tx))) {
			t.Errorf("tx %s: got code %d, err %v; want code %d, error %v", tt.tx, code, err, tt.wantCode, tt.wantErr)
		}
	}
}
