package fabric

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// CredentialPaths returns the certificate and private key files of the
// identity Dial would act as for name (the org admin's when name is ""),
// so that what is signed outside a transaction (a compliance report) is
// signed by the same ledger identity.
func (p *Profile) CredentialPaths(name string) (cert, key string, err error) {
	return credentialPaths(p, dialConfig{identity: name})
}

// OrgCACerts returns the PEM bytes of the client organisation's MSP CA
// certificates: roots from msp/cacerts and intermediates from
// msp/intermediatecerts of the organisation folder that holds the
// profile's x-ledgerguard-users folder (cryptogen's layout). Every
// certificate the org issues chains to one of the roots.
func (p *Profile) OrgCACerts() (roots, intermediates [][]byte, err error) {
	org := p.Org()
	if org.UsersDir == "" {
		return nil, nil, fmt.Errorf("%w: organization %q has no x-ledgerguard-users folder", ErrProfile, p.Client.Organization)
	}
	mspDir := filepath.Join(filepath.Dir(filepath.Clean(p.resolve(org.UsersDir))), "msp")
	read := func(sub string, must bool) ([][]byte, error) {
		entries, err := os.ReadDir(filepath.Join(mspDir, sub))
		if err != nil {
			if !must && os.IsNotExist(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("%w: %v", ErrProfile, err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		var out [][]byte
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(mspDir, sub, n))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrProfile, err)
			}
			out = append(out, b)
		}
		return out, nil
	}
	if roots, err = read("cacerts", true); err != nil {
		return nil, nil, err
	}
	if len(roots) == 0 {
		return nil, nil, fmt.Errorf("%w: %s/cacerts holds no certificate", ErrProfile, mspDir)
	}
	if intermediates, err = read("intermediatecerts", false); err != nil {
		return nil, nil, err
	}
	return roots, intermediates, nil
}
