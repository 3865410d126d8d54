package fabric

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCredentialPathsAndOrgCACerts(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "peerOrganizations", "org1.example.com")
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(org, "users", "auditor@org1.example.com", "msp", "signcerts", "cert.pem"), "cert")
	write(filepath.Join(org, "users", "auditor@org1.example.com", "msp", "keystore", "key_sk"), "key")
	write(filepath.Join(org, "msp", "cacerts", "ca.pem"), "root")
	write(filepath.Join(org, "msp", "intermediatecerts", "i.pem"), "inter")
	profile := filepath.Join(dir, "connection-org1.json")
	write(profile, `{"client":{"organization":"Org1"},
	  "organizations":{"Org1":{"mspid":"Org1MSP","peers":["peer0"],"adminPrivateKey":{"path":"admin_sk"},"signedCert":{"path":"admin.pem"},
	    "x-ledgerguard-users":"peerOrganizations/org1.example.com/users"}},
	  "peers":{"peer0":{"url":"grpcs://127.0.0.1:7051"}}}`)
	p, err := LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := p.CredentialPaths("auditor")
	if err != nil || filepath.Base(cert) != "cert.pem" || filepath.Base(key) != "key_sk" {
		t.Errorf("CredentialPaths(auditor): got %q %q %v", cert, key, err)
	}
	if cert, key, err := p.CredentialPaths(""); err != nil || cert != filepath.Join(dir, "admin.pem") || key != filepath.Join(dir, "admin_sk") {
		t.Errorf("CredentialPaths(\"\"): got %q %q %v, want the admin's", cert, key, err)
	}
	if _, _, err := p.CredentialPaths("nobody"); err == nil {
		t.Error("CredentialPaths(nobody): want an error")
	}
	roots, inter, err := p.OrgCACerts()
	if err != nil || len(roots) != 1 || string(roots[0]) != "root" || len(inter) != 1 || string(inter[0]) != "inter" {
		t.Errorf("OrgCACerts: got %q %q %v", roots, inter, err)
	}
	if err := os.RemoveAll(filepath.Join(org, "msp", "cacerts")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.OrgCACerts(); err == nil {
		t.Error("OrgCACerts without cacerts: want an error")
	}
}
