package ledgertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// attrOID is the Fabric CA attribute extension's OID.
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Identity is a test client: a real X.509 certificate with the subject,
// OUs and Fabric CA attributes a test chose, serialised as the
// msp.SerializedIdentity the peer hands the chaincode as creator.
type Identity struct {
	MSP     string
	Subject string
	Cert    *x509.Certificate
	Creator []byte
}

var (
	keyOnce sync.Once
	key     *ecdsa.PrivateKey
	keyErr  error
	serial  int64
	serialM sync.Mutex
)

// NewIdentity issues a self-signed certificate for CN cn in organisation
// msp with the given OUs and attributes (written as Fabric CA writes them:
// extension 1.2.3.4.5.6.7.8.1 holding {"attrs":{...}}; nil attrs means no
// extension).
func NewIdentity(mspID, cn string, ous []string, attrs map[string]string) (*Identity, error) {
	keyOnce.Do(func() { key, keyErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })
	if keyErr != nil {
		return nil, fmt.Errorf("generate key: %w", keyErr)
	}
	serialM.Lock()
	serial++
	sn := serial
	serialM.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: ous, Organization: []string{mspID}},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if attrs != nil {
		value, err := json.Marshal(map[string]map[string]string{"attrs": attrs})
		if err != nil {
			return nil, fmt.Errorf("encode attributes: %w", err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: attrOID, Value: value}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	creator, err := proto.Marshal(&msp.SerializedIdentity{
		Mspid:   mspID,
		IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	})
	if err != nil {
		return nil, fmt.Errorf("serialise identity: %w", err)
	}
	return &Identity{MSP: mspID, Subject: cert.Subject.String(), Cert: cert, Creator: creator}, nil
}

// MustIdentity is NewIdentity for tests: it panics on error, which only a
// broken crypto library could cause.
func MustIdentity(mspID, cn string, ous []string, attrs map[string]string) *Identity {
	id, err := NewIdentity(mspID, cn, ous, attrs)
	if err != nil {
		panic(err)
	}
	return id
}

// Role returns a client identity of mspID carrying ledgerguard.role=role.
func Role(mspID, cn, role string) *Identity {
	return MustIdentity(mspID, cn, []string{"client"}, map[string]string{"ledgerguard.role": role})
}

// Gateway returns a gateway identity of mspID (role gateway, not bound to
// a gateway id).
func Gateway(mspID, cn string) *Identity { return Role(mspID, cn, "gateway") }

// BoundGateway returns a gateway identity bound by ledgerguard.gateway to
// gatewayID.
func BoundGateway(mspID, cn, gatewayID string) *Identity {
	return MustIdentity(mspID, cn, []string{"client"}, map[string]string{"ledgerguard.role": "gateway", "ledgerguard.gateway": gatewayID})
}

// Admin returns an org admin of mspID (NodeOU admin, no role attribute).
func Admin(mspID, cn string) *Identity { return MustIdentity(mspID, cn, []string{"admin"}, nil) }

// Plain returns a client of mspID with neither role nor admin OU.
func Plain(mspID, cn string) *Identity { return MustIdentity(mspID, cn, []string{"client"}, nil) }
