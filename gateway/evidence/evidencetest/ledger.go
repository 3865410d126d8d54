// Package evidencetest provides test doubles for package evidence: a fake
// ledger whose organisations have real CAs and peers, so the transactions it
// returns are genuine Fabric envelopes with correctly signed endorsements,
// and the tampering operations the tests apply to bundles. It is for tests
// only; nothing in it is secret or durable.
package evidencetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// Org is a test organisation: a self-signed root CA, a peer and a client
// identity it issued (the peer's certificate carries OU "peer", the
// client's OU "client", as with Fabric NodeOUs).
type Org struct {
	MSPID     string
	CACert    *x509.Certificate
	CAPEM     string
	PeerKey   *ecdsa.PrivateKey
	PeerID    []byte // serialized identity (msp.SerializedIdentity)
	ClientKey *ecdsa.PrivateKey
	ClientID  []byte
}

// NewOrg creates an organisation with fresh P-256 keys, its certificates
// valid from an hour ago for a day.
func NewOrg(mspID string) (*Org, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca." + mspID, Organization: []string{mspID}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	o := &Org{MSPID: mspID, CACert: ca, CAPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))}
	issue := func(serial int64, cn, ou string) (*ecdsa.PrivateKey, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		id, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
		return key, id, err
	}
	if o.PeerKey, o.PeerID, err = issue(2, "peer0."+mspID, "peer"); err != nil {
		return nil, err
	}
	if o.ClientKey, o.ClientID, err = issue(3, "gateway@"+mspID, "client"); err != nil {
		return nil, err
	}
	return o, nil
}

// MSP returns the organisation as a bundle header lists it.
func (o *Org) MSP() evidence.OrgMSP {
	return evidence.OrgMSP{MSPID: o.MSPID, RootCerts: []string{o.CAPEM}, PeerOU: "peer"}
}

// Sign signs msg as Fabric does: ECDSA P-256 over SHA-256, ASN.1 DER, low-S.
func Sign(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	n := key.Curve.Params().N
	if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		s = new(big.Int).Sub(n, s)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

type committed struct {
	env   []byte
	block uint64
	code  int32
}

// Ledger is an in-memory evidence.LedgerSource: Anchor builds, endorses
// (by every org's peer) and "commits" a real AnchorBatch envelope.
type Ledger struct {
	Channel   string
	Chaincode string
	Orgs      []*Org // the first is the gateway's organisation (the creator)

	mu      sync.Mutex
	txs     map[string]committed
	batches map[string]wire.Batch
	block   uint64
}

// NewLedger returns a ledger of channel and chaincode with one organisation
// per MSP id, the first one the gateway's.
func NewLedger(channel, chaincode string, mspIDs ...string) (*Ledger, error) {
	l := &Ledger{Channel: channel, Chaincode: chaincode, txs: map[string]committed{}, batches: map[string]wire.Batch{}, block: 5}
	for _, id := range mspIDs {
		o, err := NewOrg(id)
		if err != nil {
			return nil, err
		}
		l.Orgs = append(l.Orgs, o)
	}
	return l, nil
}

// ToWire is the record the chaincode stores for a batch, before the
// chaincode-set fields (the same mapping as gateway/fabric.BatchToWire).
func ToWire(b gateway.Batch) wire.Batch {
	counts := map[string]uint64{}
	for k, v := range b.ClassCounts {
		counts[k] = uint64(v)
	}
	models := []wire.Model{}
	for _, m := range b.Models {
		models = append(models, wire.Model{ID: m.ID, Version: m.Version, SHA256: m.SHA256})
	}
	return wire.Batch{
		ID: b.ID, MSP: b.GatewayMSP, GatewayID: b.GatewayID, TreeSizeBefore: b.TreeSizeBefore, TreeSizeAfter: b.TreeSizeAfter,
		RootHash: b.RootHash, FirstSeq: b.FirstSeq, LastSeq: b.LastSeq,
		FirstEventTime: wire.NewTime(b.TimeFrom), LastEventTime: wire.NewTime(b.TimeTo), ClassCounts: counts, Models: models,
	}
}

// Anchor commits an AnchorBatch transaction for b and returns its id.
func (l *Ledger) Anchor(b gateway.Batch) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	creator := l.Orgs[0]
	nonce := make([]byte, 24)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append([]byte{}, nonce...), creator.ClientID...))
	txID := hex.EncodeToString(sum[:])
	now := time.Now()

	rec := ToWire(b)
	rec.AnchoredAt, rec.TxID = wire.NewTime(now), txID
	rec.Submitter = &wire.Actor{MSP: creator.MSPID, Subject: "CN=gateway@" + creator.MSPID}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	arg, err := json.Marshal(ToWire(b))
	if err != nil {
		return "", err
	}
	ccID := &peer.ChaincodeID{Name: l.Chaincode}
	ext, err := proto.Marshal(&peer.ChaincodeHeaderExtension{ChaincodeId: ccID})
	if err != nil {
		return "", err
	}
	chdr, err := proto.Marshal(&common.ChannelHeader{
		Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: l.Channel, TxId: txID,
		Timestamp: timestamppb.New(now), Extension: ext,
	})
	if err != nil {
		return "", err
	}
	shdr, err := proto.Marshal(&common.SignatureHeader{Creator: creator.ClientID, Nonce: nonce})
	if err != nil {
		return "", err
	}
	input, err := proto.Marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		Type: peer.ChaincodeSpec_GOLANG, ChaincodeId: ccID,
		Input: &peer.ChaincodeInput{Args: [][]byte{[]byte("events:AnchorBatch"), arg}},
	}})
	if err != nil {
		return "", err
	}
	ccpp, err := proto.Marshal(&peer.ChaincodeProposalPayload{Input: input})
	if err != nil {
		return "", err
	}
	kv, err := proto.Marshal(&kvrwset.KVRWSet{Writes: []*kvrwset.KVWrite{
		{Key: "\x00lg.batch\x00" + b.ID + "\x00", Value: []byte(`{"locator":true}`)},
		{Key: "\x00lg.ckpt\x00" + b.GatewayMSP + "\x00" + b.GatewayID + "\x00", Value: []byte(`{"checkpoint":true}`)},
		{Key: evidence.BatchKey(b.GatewayMSP, b.GatewayID, b.TreeSizeAfter), Value: recJSON},
	}})
	if err != nil {
		return "", err
	}
	results, err := proto.Marshal(&rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV,
		NsRwset: []*rwset.NsReadWriteSet{{Namespace: l.Chaincode, Rwset: kv}}})
	if err != nil {
		return "", err
	}
	action, err := proto.Marshal(&peer.ChaincodeAction{Results: results, ChaincodeId: ccID,
		Response: &peer.Response{Status: 200, Payload: recJSON}})
	if err != nil {
		return "", err
	}
	ph := sha256.New()
	ph.Write(chdr)
	ph.Write(shdr)
	ph.Write(ccpp)
	prp, err := proto.Marshal(&peer.ProposalResponsePayload{ProposalHash: ph.Sum(nil), Extension: action})
	if err != nil {
		return "", err
	}
	var ends []*peer.Endorsement
	for _, o := range l.Orgs {
		sig, err := Sign(o.PeerKey, append(append([]byte{}, prp...), o.PeerID...))
		if err != nil {
			return "", err
		}
		ends = append(ends, &peer.Endorsement{Endorser: o.PeerID, Signature: sig})
	}
	ccap, err := proto.Marshal(&peer.ChaincodeActionPayload{ChaincodeProposalPayload: ccpp,
		Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp, Endorsements: ends}})
	if err != nil {
		return "", err
	}
	tx, err := proto.Marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Header: shdr, Payload: ccap}}})
	if err != nil {
		return "", err
	}
	payload, err := proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: chdr, SignatureHeader: shdr}, Data: tx})
	if err != nil {
		return "", err
	}
	sig, err := Sign(creator.ClientKey, payload)
	if err != nil {
		return "", err
	}
	env, err := proto.Marshal(&common.Envelope{Payload: payload, Signature: sig})
	if err != nil {
		return "", err
	}
	l.block++
	l.txs[txID] = committed{env: env, block: l.block, code: int32(peer.TxValidationCode_VALID)}
	l.batches[b.ID] = rec
	return txID, nil
}

// Transaction implements evidence.LedgerSource.
func (l *Ledger) Transaction(_ context.Context, txID string) ([]byte, uint64, int32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.txs[txID]
	if !ok {
		return nil, 0, 0, fmt.Errorf("transaction %s not found", txID)
	}
	return c.env, c.block, c.code, nil
}

// ChannelMSPs implements evidence.LedgerSource.
func (l *Ledger) ChannelMSPs(context.Context) ([]evidence.OrgMSP, error) {
	out := make([]evidence.OrgMSP, 0, len(l.Orgs))
	for _, o := range l.Orgs {
		out = append(out, o.MSP())
	}
	return out, nil
}

// AnchoredBatch implements evidence.LedgerSource and evidence.OnlineSource.
func (l *Ledger) AnchoredBatch(_ context.Context, id string) (wire.Batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.batches[id]
	if !ok {
		return wire.Batch{}, fmt.Errorf("batch %s: %w", id, evidence.ErrNotAnchored)
	}
	return b, nil
}

// SetBatch overwrites the ledger's record of a batch (to simulate a ledger
// that disagrees with a bundle).
func (l *Ledger) SetBatch(b wire.Batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches[b.ID] = b
}
