package fabric

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Timeouts bounds each stage of a transaction. Zero fields take the
// defaults of DefaultTimeouts. Ledger applies them as context deadlines
// on every call (fabric-gateway's own Connect timeouts cover only its
// calls without a context, which this package does not make), so no
// stage waits longer than its bound whatever the caller's context: above
// all the commit-status wait, which the peer otherwise holds open for
// ever when the orderers dropped the transaction (a Raft leader change
// loses what the old leader had not yet cut into a block).
type Timeouts struct {
	Evaluate     time.Duration
	Endorse      time.Duration
	Submit       time.Duration
	CommitStatus time.Duration
}

// DefaultTimeouts are sized for a local network whose orderer cuts blocks
// every 50 ms: an endorsement takes milliseconds, a commit well under a
// second, so these only fire when a node is down or overloaded.
// CommitStatus is half fabric-samples' minute: every raft leader change
// loses the transactions the old leader had not yet cut (make chaos's
// TestChaosOrdererStall saw one lost at 11 of 15 leader changes), each
// is found lost only when this bound ends its wait, and anchoring waits
// for it; 30 s is the peer's own default broadcast timeout and still some
// thirty times a commit on a loaded box. A commit slower than that is
// only submitted twice, which the keyed transactions make harmless.
var DefaultTimeouts = Timeouts{
	Evaluate:     10 * time.Second,
	Endorse:      30 * time.Second,
	Submit:       10 * time.Second,
	CommitStatus: 30 * time.Second,
}

// Client is a connection to one organisation's peer as one identity.
// It is safe for concurrent use; Close releases the connection.
type Client struct {
	gw       *client.Gateway
	conn     *grpc.ClientConn
	mspID    string
	timeouts Timeouts // zero fields: DefaultTimeouts (see stageTimeouts)
}

type dialConfig struct {
	mspDir   string
	identity string
	peer     string
	timeouts Timeouts
}

// Option configures Dial.
type Option func(*dialConfig) error

// WithIdentity selects an enrolled identity of the profile's org by name
// ("gateway", "author", "analyst", "auditor", "Admin"). The default is the
// profile's admin credentials.
func WithIdentity(name string) Option {
	return func(c *dialConfig) error {
		if name == "" {
			return errors.New("identity name is empty")
		}
		c.identity = name
		return nil
	}
}

// WithMSPDir uses the identity in an MSP folder (signcerts/, keystore/).
func WithMSPDir(dir string) Option {
	return func(c *dialConfig) error {
		if dir == "" {
			return errors.New("MSP folder is empty")
		}
		c.mspDir = dir
		return nil
	}
}

// WithPeer selects which of the org's peers to dial; the default is the
// first one listed.
func WithPeer(name string) Option {
	return func(c *dialConfig) error {
		c.peer = name
		return nil
	}
}

// WithTimeouts overrides the per-stage timeouts; zero fields keep defaults.
func WithTimeouts(t Timeouts) Option {
	return func(c *dialConfig) error {
		if t.Evaluate < 0 || t.Endorse < 0 || t.Submit < 0 || t.CommitStatus < 0 {
			return errors.New("timeouts must not be negative")
		}
		c.timeouts = t
		return nil
	}
}

// Dial connects to the profile's organisation peer. The connection is
// lazy (gRPC dials on first use), so Dial fails only on bad configuration
// or credentials, never because a peer is momentarily down.
func Dial(ctx context.Context, p *Profile, opts ...Option) (*Client, error) {
	cfg := dialConfig{timeouts: DefaultTimeouts}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("fabric dial: %w", err)
		}
	}
	cfg.timeouts = withDefaults(cfg.timeouts)
	org := p.Org()
	peerName := cfg.peer
	if peerName == "" {
		peerName = org.Peers[0]
	}
	peer, ok := p.Peers[peerName]
	if !ok {
		return nil, fmt.Errorf("%w: no peer %q", ErrProfile, peerName)
	}

	certPath, keyPath, err := credentialPaths(p, cfg)
	if err != nil {
		return nil, err
	}
	id, sign, err := loadIdentity(org.MSPID, certPath, keyPath)
	if err != nil {
		return nil, err
	}
	conn, err := dialPeer(peer)
	if err != nil {
		return nil, err
	}
	gw, err := client.Connect(id,
		client.WithSign(sign),
		client.WithHash(hash.SHA256),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(cfg.timeouts.Evaluate),
		client.WithEndorseTimeout(cfg.timeouts.Endorse),
		client.WithSubmitTimeout(cfg.timeouts.Submit),
		client.WithCommitStatusTimeout(cfg.timeouts.CommitStatus),
	)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("fabric connect: %w", err)
	}
	return &Client{gw: gw, conn: conn, mspID: org.MSPID, timeouts: cfg.timeouts}, nil
}

// stageTimeouts returns the client's per-stage bounds, defaults filled in.
func (c *Client) stageTimeouts() Timeouts { return withDefaults(c.timeouts) }

func withDefaults(t Timeouts) Timeouts {
	if t.Evaluate == 0 {
		t.Evaluate = DefaultTimeouts.Evaluate
	}
	if t.Endorse == 0 {
		t.Endorse = DefaultTimeouts.Endorse
	}
	if t.Submit == 0 {
		t.Submit = DefaultTimeouts.Submit
	}
	if t.CommitStatus == 0 {
		t.CommitStatus = DefaultTimeouts.CommitStatus
	}
	return t
}

func credentialPaths(p *Profile, cfg dialConfig) (cert, key string, err error) {
	dir := cfg.mspDir
	if dir == "" && cfg.identity != "" {
		if dir, err = p.IdentityDir(cfg.identity); err != nil {
			return "", "", err
		}
	}
	if dir == "" {
		org := p.Org()
		return p.resolve(org.SignedCert.Path), p.resolve(org.AdminPrivateKey.Path), nil
	}
	cert, err = onlyFile(filepath.Join(dir, "signcerts"))
	if err != nil {
		return "", "", err
	}
	key, err = onlyFile(filepath.Join(dir, "keystore"))
	if err != nil {
		return "", "", err
	}
	return cert, key, nil
}

func onlyFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrProfile, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) != 1 {
		return "", fmt.Errorf("%w: %s must hold exactly one file, has %d", ErrProfile, dir, len(files))
	}
	return files[0], nil
}

func loadIdentity(mspID, certPath, keyPath string) (*identity.X509Identity, identity.Sign, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read certificate: %v", ErrProfile, err)
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: certificate %s: %v", ErrProfile, certPath, err)
	}
	id, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: identity: %v", ErrProfile, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: read private key: %v", ErrProfile, err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: private key %s: %v", ErrProfile, keyPath, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signer: %v", ErrProfile, err)
	}
	return id, sign, nil
}

func dialPeer(peer ProfilePeer) (*grpc.ClientConn, error) {
	target := strings.TrimPrefix(strings.TrimPrefix(peer.URL, "grpcs://"), "grpc://")
	if !strings.HasPrefix(peer.URL, "grpcs://") {
		return nil, fmt.Errorf("%w: peer %s is not TLS (grpcs://); ledgerguard requires TLS", ErrProfile, peer.URL)
	}
	var caPEM []byte
	switch {
	case peer.TLSCACerts.PEM != "":
		caPEM = []byte(peer.TLSCACerts.PEM)
	case peer.TLSCACerts.Path != "":
		b, err := os.ReadFile(peer.TLSCACerts.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS CA: %v", ErrProfile, err)
		}
		caPEM = b
	default:
		return nil, fmt.Errorf("%w: peer %s has no tlsCACerts", ErrProfile, peer.URL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%w: peer %s: TLS CA holds no PEM certificate", ErrProfile, peer.URL)
	}
	override, _ := peer.GRPCOptions["ssl-target-name-override"].(string)
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, override)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(100<<20), grpc.MaxCallSendMsgSize(100<<20)),
	)
	if err != nil {
		return nil, fmt.Errorf("fabric: dial %s: %w", target, err)
	}
	return conn, nil
}

// MSPID returns the MSP ID the client acts as.
func (c *Client) MSPID() string { return c.mspID }

// Gateway exposes the underlying fabric-gateway client to the end-to-end
// tests and benchmarks under test/, which drive Fabric below this adapter
// (raw event streams, endorsing organisations, pipelined submits). The
// gateway's own packages use Ledger, whose errors are classified.
func (c *Client) Gateway() *client.Gateway { return c.gw }

// Contract returns a named contract of a chaincode on a channel, for the
// same callers as Gateway.
func (c *Client) Contract(channel, chaincode, contract string) *client.Contract {
	return c.gw.GetNetwork(channel).GetContractWithName(chaincode, contract)
}

// Close releases the gateway and its gRPC connection.
func (c *Client) Close() error {
	gwErr := c.gw.Close()
	connErr := c.conn.Close()
	return errors.Join(gwErr, connErr)
}
