package evidence

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// BatchKeyObjectType is the composite-key object type under which the
// ledgerguard chaincode stores an anchored batch, keyed (msp, gatewayID,
// treeSizeAfter as 20 digits); see chaincode/internal/keys (GatewayBatch).
// The verifier finds the batch record in a transaction's write set by it.
const BatchKeyObjectType = "lg.gwbatch"

// BatchKey returns the ledger key of the batch record of gateway (msp,
// gatewayID) ending at tree size after, in Fabric's composite-key encoding
// (U+0000, object type, then each attribute, each followed by U+0000: what
// shim.CreateCompositeKey builds). It is rebuilt here because the
// chaincode's key package is internal to its module.
func BatchKey(msp, gatewayID string, after uint64) string {
	return "\x00" + BatchKeyObjectType + "\x00" + msp + "\x00" + gatewayID + "\x00" + fmt.Sprintf("%020d", after) + "\x00"
}

// orgTrust is what the verifier trusts about one organisation: its CA pools
// built from the bundle's header.
type orgTrust struct {
	mspID  string
	roots  *x509.CertPool
	inter  *x509.CertPool
	peerOU string
}

// OrgSummary describes an organisation the bundle trusts: SHA-256
// fingerprints (hex of the DER) of its root CA certificates, for an auditor
// to compare with the consortium's own record.
type OrgSummary struct {
	MSPID        string
	Fingerprints []string
}

// newTrust parses the header's CA certificates. An org whose certificates
// do not parse gets a finding and no trust entry, so nothing it signed
// verifies.
func newTrust(orgs []OrgMSP) (map[string]*orgTrust, []OrgSummary, []Finding) {
	trust := make(map[string]*orgTrust, len(orgs))
	var sums []OrgSummary
	var findings []Finding
	for _, o := range orgs {
		bad := func(format string, a ...any) {
			findings = append(findings, Finding{Kind: KindEndorsement, Detail: fmt.Sprintf("org %s: ", o.MSPID) + fmt.Sprintf(format, a...)})
		}
		if _, dup := trust[o.MSPID]; dup || o.MSPID == "" {
			bad("listed twice or without an MSP id")
			continue
		}
		t := &orgTrust{mspID: o.MSPID, roots: x509.NewCertPool(), inter: x509.NewCertPool(), peerOU: o.PeerOU}
		sum := OrgSummary{MSPID: o.MSPID}
		ok := true
		for _, p := range o.RootCerts {
			c, err := parseCertPEM([]byte(p))
			if err != nil {
				bad("root certificate: %v", err)
				ok = false
				break
			}
			t.roots.AddCert(c)
			fp := sha256.Sum256(c.Raw)
			sum.Fingerprints = append(sum.Fingerprints, hex.EncodeToString(fp[:]))
		}
		for _, p := range o.IntermediateCerts {
			c, err := parseCertPEM([]byte(p))
			if err != nil {
				bad("intermediate certificate: %v", err)
				ok = false
				break
			}
			t.inter.AddCert(c)
		}
		if len(o.RootCerts) == 0 {
			bad("no root certificate")
			ok = false
		}
		if ok {
			trust[o.MSPID] = t
			sums = append(sums, sum)
		}
	}
	return trust, sums, findings
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// Errors an identity or signature check can end with, inspectable with
// errors.Is in a Finding's Err.
var (
	ErrUnknownMSP  = errors.New("MSP not among the bundle's organisations")
	ErrNotPeer     = errors.New("certificate lacks the organisation's peer OU")
	ErrBadSig      = errors.New("signature does not verify")
	ErrHighS       = errors.New("ECDSA signature is not low-S")
	ErrNotECDSA    = errors.New("certificate key is not ECDSA")
	ErrNoBatch     = errors.New("transaction writes no batch record")
	ErrNotEndorser = errors.New("not an endorser transaction")
)

// identity checks a serialized Fabric identity (MSP id + PEM certificate)
// against the bundle's trust at time at, optionally requiring the peer OU.
func identity(serialized []byte, trust map[string]*orgTrust, at time.Time, wantPeer bool) (string, *x509.Certificate, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(serialized, &sid); err != nil {
		return "", nil, fmt.Errorf("decode identity: %w", err)
	}
	t, ok := trust[sid.Mspid]
	if !ok {
		return sid.Mspid, nil, fmt.Errorf("%w: %q", ErrUnknownMSP, sid.Mspid)
	}
	cert, err := parseCertPEM(sid.IdBytes)
	if err != nil {
		return sid.Mspid, nil, fmt.Errorf("identity certificate: %w", err)
	}
	// Fabric checks no extended key usage; the chain is checked at the
	// transaction's time because certificates may have expired since.
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots: t.roots, Intermediates: t.inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return sid.Mspid, cert, fmt.Errorf("certificate of %q (%s) does not chain to its CA: %w", sid.Mspid, cert.Subject.CommonName, err)
	}
	if wantPeer && t.peerOU != "" && !slices.Contains(cert.Subject.OrganizationalUnit, t.peerOU) {
		return sid.Mspid, cert, fmt.Errorf("%w %q: %s", ErrNotPeer, t.peerOU, cert.Subject.CommonName)
	}
	return sid.Mspid, cert, nil
}

// VerifySignature checks a Fabric signature: ECDSA with SHA-256 over msg,
// ASN.1 DER (r, s), with s in the lower half of the curve order (Fabric
// refuses high-S signatures as malleable).
func VerifySignature(cert *x509.Certificate, msg, sig []byte) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return ErrNotECDSA
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return fmt.Errorf("%w: malformed DER signature", ErrBadSig)
	}
	if rs.S.Cmp(new(big.Int).Rsh(pub.Curve.Params().N, 1)) > 0 {
		return ErrHighS
	}
	digest := sha256.Sum256(msg)
	if !ecdsa.Verify(pub, digest[:], rs.R, rs.S) {
		return ErrBadSig
	}
	return nil
}

// txCheck is the outcome of checking one anchoring transaction.
type txCheck struct {
	record       *wire.Batch // the batch record it wrote; nil if none could be read
	endorsements int         // valid endorsements
	findings     []Finding
}

// checkTransaction checks an anchoring transaction as Fabric's validator
// would, and extracts the batch record it wrote: validation code VALID, an
// endorser transaction of the bundle's channel with the recorded tx id,
// created and signed by an identity of the gateway's MSP, the proposal hash
// binding the endorsements to this transaction, the endorsement policy
// (one valid peer endorsement per organisation in trust), and the write of
// the batch record under the chaincode's namespace. batchID names the
// bundle's batch in findings.
func checkTransaction(t Transaction, h Header, trust map[string]*orgTrust, batchID string) txCheck {
	var c txCheck
	fail := func(kind Kind, err error) {
		c.findings = append(c.findings, Finding{Kind: kind, BatchID: batchID, TxID: t.TxID, Detail: err.Error(), Err: err})
	}
	if t.ValidationCode != int32(peer.TxValidationCode_VALID) {
		fail(KindTransaction, fmt.Errorf("committed with validation code %s, not VALID", peer.TxValidationCode(t.ValidationCode)))
	}
	env := &common.Envelope{}
	payload := &common.Payload{}
	chdr := &common.ChannelHeader{}
	shdr := &common.SignatureHeader{}
	tx := &peer.Transaction{}
	if err := unmarshalAll(
		step{"envelope", t.Envelope, env},
		step{"payload", func() []byte { return env.GetPayload() }, payload},
		step{"channel header", func() []byte { return payload.GetHeader().GetChannelHeader() }, chdr},
		step{"signature header", func() []byte { return payload.GetHeader().GetSignatureHeader() }, shdr},
		step{"transaction", func() []byte { return payload.GetData() }, tx},
	); err != nil {
		fail(KindTransaction, err)
		return c
	}
	if chdr.Type != int32(common.HeaderType_ENDORSER_TRANSACTION) {
		fail(KindTransaction, fmt.Errorf("%w: header type %d", ErrNotEndorser, chdr.Type))
		return c
	}
	if chdr.TxId != t.TxID {
		fail(KindTransaction, fmt.Errorf("envelope is transaction %s, bundle records %s", chdr.TxId, t.TxID))
	}
	if chdr.ChannelId != h.Channel {
		fail(KindTransaction, fmt.Errorf("envelope is on channel %q, bundle is for %q", chdr.ChannelId, h.Channel))
	}
	at := chdr.GetTimestamp().AsTime()

	// The creator (the gateway's identity) signs the whole payload,
	// endorsements included, so this also catches edits of the envelope.
	msp, cert, err := identity(shdr.Creator, trust, at, false)
	switch {
	case err != nil:
		fail(KindTransaction, fmt.Errorf("creator: %w", err))
	case msp != h.GatewayMSP:
		fail(KindTransaction, fmt.Errorf("created by MSP %q, not the gateway's %q", msp, h.GatewayMSP))
	default:
		if err := VerifySignature(cert, env.Payload, env.Signature); err != nil {
			fail(KindTransaction, fmt.Errorf("creator signature over the envelope: %w", err))
		}
	}

	if len(tx.Actions) != 1 {
		fail(KindTransaction, fmt.Errorf("transaction has %d actions, want 1", len(tx.Actions)))
		return c
	}
	act := tx.Actions[0]
	ccap := &peer.ChaincodeActionPayload{}
	prp := &peer.ProposalResponsePayload{}
	cca := &peer.ChaincodeAction{}
	rws := &rwset.TxReadWriteSet{}
	if err := unmarshalAll(
		step{"chaincode action payload", act.Payload, ccap},
		step{"proposal response payload", func() []byte { return ccap.GetAction().GetProposalResponsePayload() }, prp},
		step{"chaincode action", func() []byte { return prp.GetExtension() }, cca},
		step{"read-write set", func() []byte { return cca.GetResults() }, rws},
	); err != nil {
		fail(KindTransaction, err)
		return c
	}
	// The proposal hash binds the endorsed response to this transaction's
	// header and proposal (Fabric recomputes it the same way).
	ph := sha256.New()
	ph.Write(payload.Header.ChannelHeader)
	ph.Write(act.Header)
	ph.Write(ccap.GetChaincodeProposalPayload())
	if !bytes.Equal(ph.Sum(nil), prp.ProposalHash) {
		fail(KindTransaction, errors.New("proposal hash does not match the transaction's header and proposal"))
	}
	if !bytes.Equal(act.Header, payload.Header.SignatureHeader) {
		fail(KindTransaction, errors.New("action header differs from the payload's signature header"))
	}
	if name := cca.GetChaincodeId().GetName(); name != h.Chaincode {
		fail(KindTransaction, fmt.Errorf("transaction invokes chaincode %q, bundle is for %q", name, h.Chaincode))
	}

	c.endorsements = checkEndorsements(ccap.GetAction().GetProposalResponsePayload(), ccap.GetAction().GetEndorsements(), trust, at, func(err error) { fail(KindEndorsement, err) })

	rec, err := batchWrite(rws, h.Chaincode)
	if err != nil {
		fail(KindTransaction, err)
		return c
	}
	c.record = rec
	return c
}

// checkEndorsements verifies each endorsement and the policy "one valid
// peer endorsement from every organisation in trust", reporting each
// failure; it returns the number of valid endorsements.
func checkEndorsements(prp []byte, ends []*peer.Endorsement, trust map[string]*orgTrust, at time.Time, fail func(error)) int {
	valid := 0
	byOrg := map[string]int{}
	for i, e := range ends {
		msp, cert, err := identity(e.Endorser, trust, at, true)
		if err == nil {
			// Fabric's endorser signs the response payload followed by its
			// own serialized identity.
			err = VerifySignature(cert, append(slices.Clip(prp), e.Endorser...), e.Signature)
		}
		if err != nil {
			fail(fmt.Errorf("endorsement %d (%s): %w", i, msp, err))
			continue
		}
		valid++
		byOrg[msp]++
	}
	orgs := make([]string, 0, len(trust))
	for id := range trust {
		orgs = append(orgs, id)
	}
	slices.Sort(orgs)
	for _, id := range orgs {
		if byOrg[id] == 0 {
			fail(fmt.Errorf("endorsement policy not satisfied: no valid peer endorsement from %s", id))
		}
	}
	return valid
}

// batchWrite finds the one batch record the transaction wrote in the
// chaincode's namespace and checks its key matches its content.
func batchWrite(rws *rwset.TxReadWriteSet, chaincode string) (*wire.Batch, error) {
	prefix := "\x00" + BatchKeyObjectType + "\x00"
	var found []*wire.Batch
	for _, ns := range rws.NsRwset {
		if ns.Namespace != chaincode {
			continue
		}
		kv := &kvrwset.KVRWSet{}
		if err := proto.Unmarshal(ns.Rwset, kv); err != nil {
			return nil, fmt.Errorf("decode write set of %s: %w", chaincode, err)
		}
		for _, w := range kv.Writes {
			if !strings.HasPrefix(w.Key, prefix) || w.IsDelete {
				continue
			}
			var b wire.Batch
			if err := json.Unmarshal(w.Value, &b); err != nil {
				return nil, fmt.Errorf("decode batch record written under %q: %w", w.Key, err)
			}
			if want := BatchKey(b.MSP, b.GatewayID, b.TreeSizeAfter); w.Key != want {
				return nil, fmt.Errorf("batch record %s written under key %q, want %q", b.ID, w.Key, want)
			}
			found = append(found, &b)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%w (found %d)", ErrNoBatch, len(found))
	}
	return found[0], nil
}

// step is one protobuf decode of a chain: src is the bytes or a function
// returning them (evaluated after the previous steps).
type step struct {
	what string
	src  any
	into proto.Message
}

func unmarshalAll(steps ...step) error {
	for _, s := range steps {
		var b []byte
		switch v := s.src.(type) {
		case []byte:
			b = v
		case func() []byte:
			b = v()
		}
		if err := proto.Unmarshal(b, s.into); err != nil {
			return fmt.Errorf("decode %s: %w", s.what, err)
		}
	}
	return nil
}
