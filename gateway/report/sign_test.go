package report_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/report"
)

// testCA is a CA that issues signing certificates, as an org's Fabric CA.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca." + name, Organization: []string{name}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and PKCS#8 key PEM valid in [from, to).
func (ca *testCA) issue(t *testing.T, cn string, from, to time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"client"}},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	ca := newCA(t, cn)
	k, err := x509.MarshalECPrivateKey(ca.key) // SEC 1, as some tools write keys
	if err != nil {
		t.Fatal(err)
	}
	return ca.pem, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: k})
}

func TestSignAndVerify(t *testing.T) {
	now := time.Now()
	org1, org2 := newCA(t, "Org1MSP"), newCA(t, "Org2MSP")
	trust1, err := report.ParseTrust(org1.pem)
	if err != nil {
		t.Fatal(err)
	}
	trust2, err := report.ParseTrust(org2.pem)
	if err != nil {
		t.Fatal(err)
	}
	jsonBytes := []byte(`{"format":1,"org":"Org1MSP"}` + "\n")
	htmlBytes := []byte("<!DOCTYPE html><p>report</p>\n")
	sign := func(certPEM, keyPEM []byte) *report.Signature {
		t.Helper()
		s, err := report.NewSigner("Org1MSP", certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s.Sign(now, report.File{Name: "/out/r.json", Data: jsonBytes}, report.File{Name: "/out/r.html", Data: htmlBytes})
		if err != nil {
			t.Fatal(err)
		}
		// What is verified is what a file holds: encode and decode.
		b, err := sig.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := report.DecodeSignature(b)
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	good := sign(org1.issue(t, "auditor", now.Add(-time.Hour), now.Add(time.Hour)))
	expired := sign(org1.issue(t, "auditor", now.Add(-48*time.Hour), now.Add(-24*time.Hour)))
	notYet := sign(org1.issue(t, "auditor", now.Add(time.Hour), now.Add(48*time.Hour)))
	unknown := sign(selfSigned(t, "mallory"))
	swapped := sign(org1.issue(t, "auditor", now.Add(-time.Hour), now.Add(time.Hour)))
	swapped.Certificate = good.Certificate // a valid certificate of the org, but not the key that signed
	garbledCert := sign(org1.issue(t, "auditor", now.Add(-time.Hour), now.Add(time.Hour)))
	garbledCert.Certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	tampered := append([]byte{}, jsonBytes...)
	tampered[len(tampered)-3] = 'X'

	tests := []struct {
		name  string
		sig   *report.Signature
		file  string
		data  []byte
		trust report.Trust
		want  error // nil: verifies
	}{
		{"good JSON", good, "r.json", jsonBytes, trust1, nil},
		{"good HTML", good, "elsewhere/r.html", htmlBytes, trust1, nil},
		{"tampered JSON", good, "r.json", tampered, trust1, report.ErrTampered},
		{"HTML bytes under the JSON's name", good, "r.json", htmlBytes, trust1, report.ErrTampered},
		{"appended byte", good, "r.json", append(append([]byte{}, jsonBytes...), ' '), trust1, report.ErrTampered},
		{"wrong CA", good, "r.json", jsonBytes, trust2, report.ErrUntrusted},
		{"unknown self-signed certificate", unknown, "r.json", jsonBytes, trust1, report.ErrUntrusted},
		{"expired certificate", expired, "r.json", jsonBytes, trust1, report.ErrExpired},
		{"certificate not yet valid", notYet, "r.json", jsonBytes, trust1, report.ErrExpired},
		{"certificate of another key", swapped, "r.json", jsonBytes, trust1, report.ErrTampered},
		{"garbled certificate", garbledCert, "r.json", jsonBytes, trust1, report.ErrMalformed},
		{"file not signed", good, "other.json", jsonBytes, trust1, report.ErrNotSigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := report.VerifyFile(tt.sig, tt.file, tt.data, tt.trust, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want it to verify", err)
				}
				if v.MSPID != "Org1MSP" || v.Subject == "" || len(v.Fingerprint) != 64 {
					t.Errorf("verified: got %+v", v)
				}
				return
			}
			var ve *report.VerifyError
			if !errors.As(err, &ve) || !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want a *VerifyError wrapping %v", err, tt.want)
			}
		})
	}
}

func TestNewSignerRefusesBadKeys(t *testing.T) {
	now := time.Now()
	ca := newCA(t, "Org1MSP")
	cert, key := ca.issue(t, "auditor", now.Add(-time.Hour), now.Add(time.Hour))
	_, otherKey := ca.issue(t, "other", now.Add(-time.Hour), now.Add(time.Hour))
	tests := []struct {
		name            string
		msp             string
		certPEM, keyPEM []byte
	}{
		{"key of another certificate", "Org1MSP", cert, otherKey},
		{"no key", "Org1MSP", cert, nil},
		{"no certificate", "Org1MSP", nil, key},
		{"key as certificate", "Org1MSP", key, key},
		{"no MSP", "", cert, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := report.NewSigner(tt.msp, tt.certPEM, tt.keyPEM); !errors.Is(err, report.ErrKey) {
				t.Errorf("got %v, want ErrKey", err)
			}
		})
	}
	if _, err := report.NewSigner("Org1MSP", cert, key); err != nil {
		t.Errorf("a matching pair: %v", err)
	}
}

func TestDecodeSignatureRefusesMalformed(t *testing.T) {
	for _, b := range []string{``, `{`, `{"format":"other/1","algorithm":"ECDSA-SHA256"}`, `{"format":"ledgerguard-report-signature/1","algorithm":"RSA"}`,
		`{"format":"ledgerguard-report-signature/1","algorithm":"ECDSA-SHA256","extra":1}`} {
		if _, err := report.DecodeSignature([]byte(b)); !errors.Is(err, report.ErrMalformed) {
			t.Errorf("DecodeSignature(%q): got %v, want ErrMalformed", b, err)
		}
	}
}

func TestParseTrust(t *testing.T) {
	ca := newCA(t, "Org1MSP")
	cert, _ := ca.issue(t, "leaf", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if _, err := report.ParseTrust(cert); err == nil {
		t.Error("a leaf alone became a trust root")
	}
	if _, err := report.ParseTrust([]byte("not pem")); err == nil {
		t.Error("no certificate: want an error")
	}
	if _, err := report.ParseTrust(append(append([]byte{}, ca.pem...), cert...)); err != nil {
		t.Errorf("root + intermediate-looking cert: %v", err)
	}
}

func FuzzDecodeSignature(f *testing.F) {
	f.Add([]byte(`{"format":"ledgerguard-report-signature/1","algorithm":"ECDSA-SHA256","files":[{"name":"r.json","sha256":"00","signature":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := report.DecodeSignature(b)
		if err != nil {
			return
		}
		_, _ = report.VerifyFile(sig, "r.json", b, report.Trust{}, time.Now())
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := report.Decode(b); err != nil {
			return
		}
		if _, err := report.RenderHTML(b); err != nil {
			t.Errorf("decoded but did not render: %v", err)
		}
	})
}
