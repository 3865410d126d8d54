// Package fabric is the gateway's one client of Hyperledger Fabric and the
// only package under gateway/ that imports the fabric-gateway client
// (github.com/hyperledger/fabric-gateway, the client Fabric itself
// maintains for v2.4+ peers): it reads a common connection profile, dials
// the organisation's peer over TLS with explicit per-stage timeouts, and
// offers the typed Ledger that implements every ledger-facing interface of
// the gateway (anchoring, alerts, models, the responder's ledger and event
// stream, evidence sources) plus a generic Evaluate/Submit for the CLI.
// Contract and transaction names come from chaincode/wire.
//
// Every error is classified on codes, never on message wording: the
// chaincode's "ledgerguard/<CODE>: ..." refusals (wire.ParseError),
// fabric-gateway's per-stage error types and gRPC status codes decide
// between *gateway.LedgerRejectedError and *gateway.LedgerUnavailableError.
package fabric

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Profile is the part of Fabric's common connection profile that a client
// needs: the client's organisation, its MSP ID, credentials and peers.
type Profile struct {
	Name   string `json:"name"`
	Client struct {
		Organization string `json:"organization"`
	} `json:"client"`
	Organizations map[string]ProfileOrg  `json:"organizations"`
	Peers         map[string]ProfilePeer `json:"peers"`
	Channels      map[string]struct {
		Peers map[string]json.RawMessage `json:"peers"`
	} `json:"channels"`

	dir string
}

// ProfileOrg is one organisation entry of a connection profile.
type ProfileOrg struct {
	MSPID           string   `json:"mspid"`
	Peers           []string `json:"peers"`
	AdminPrivateKey struct {
		Path string `json:"path"`
	} `json:"adminPrivateKey"`
	SignedCert struct {
		Path string `json:"path"`
	} `json:"signedCert"`
	// UsersDir is ledgerguard's extension: the folder holding the org's
	// enrolled identities as <name>@<domain>/msp.
	UsersDir string `json:"x-ledgerguard-users"`
}

// ProfilePeer is one peer entry of a connection profile.
type ProfilePeer struct {
	URL        string `json:"url"`
	TLSCACerts struct {
		Path string `json:"path"`
		PEM  string `json:"pem"`
	} `json:"tlsCACerts"`
	GRPCOptions map[string]any `json:"grpcOptions"`
}

// ErrProfile reports a connection profile that cannot be used.
var ErrProfile = errors.New("connection profile")

// LoadProfile reads and validates a common connection profile (JSON).
// Relative paths inside it are resolved against the profile's folder.
func LoadProfile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProfile, err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrProfile, path, err)
	}
	p.dir = filepath.Dir(path)
	if p.Client.Organization == "" {
		return nil, fmt.Errorf("%w %s: client.organization is empty", ErrProfile, path)
	}
	org, ok := p.Organizations[p.Client.Organization]
	if !ok {
		return nil, fmt.Errorf("%w %s: organizations has no entry %q", ErrProfile, path, p.Client.Organization)
	}
	if org.MSPID == "" || len(org.Peers) == 0 {
		return nil, fmt.Errorf("%w %s: organization %q needs mspid and peers", ErrProfile, path, p.Client.Organization)
	}
	for _, name := range org.Peers {
		peer, ok := p.Peers[name]
		if !ok {
			return nil, fmt.Errorf("%w %s: peer %q of organization %q is not under peers", ErrProfile, path, name, p.Client.Organization)
		}
		if !strings.HasPrefix(peer.URL, "grpcs://") && !strings.HasPrefix(peer.URL, "grpc://") {
			return nil, fmt.Errorf("%w %s: peer %q url %q must start with grpcs:// or grpc://", ErrProfile, path, name, peer.URL)
		}
	}
	return &p, nil
}

// Org returns the client's own organisation entry.
func (p *Profile) Org() ProfileOrg { return p.Organizations[p.Client.Organization] }

// MSPID returns the client organisation's MSP ID.
func (p *Profile) MSPID() string { return p.Org().MSPID }

// Channels returns the channel names in the profile, sorted.
func (p *Profile) ChannelNames() []string {
	names := make([]string, 0, len(p.Channels))
	for n := range p.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (p *Profile) resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

// IdentityDir returns the MSP folder of the org's enrolled identity name
// (e.g. "gateway", "Admin"), as laid out by the network scripts.
func (p *Profile) IdentityDir(name string) (string, error) {
	org := p.Org()
	if org.UsersDir == "" {
		return "", fmt.Errorf("%w: organization %q has no x-ledgerguard-users folder", ErrProfile, p.Client.Organization)
	}
	entries, err := os.ReadDir(p.resolve(org.UsersDir))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrProfile, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), name+"@") {
			return filepath.Join(p.resolve(org.UsersDir), e.Name(), "msp"), nil
		}
	}
	return "", fmt.Errorf("%w: no identity %q under %s", ErrProfile, name, org.UsersDir)
}
