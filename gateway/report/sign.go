package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// SignatureFormat names the layout of a signature file.
const SignatureFormat = "ledgerguard-report-signature/1"

// Algorithm is the one signature algorithm used: ECDSA over the SHA-256 of
// the file's bytes, ASN.1 DER encoded, as Fabric identities sign.
const Algorithm = "ECDSA-SHA256"

// Signature is a detached signature file: one signature per signed file
// (by base name) and the signer's certificate, so a verifier needs only
// the files, this and the organisation's CA certificates.
type Signature struct {
	Format      string       `json:"format"`
	Algorithm   string       `json:"algorithm"`
	MSPID       string       `json:"mspId"`
	Certificate string       `json:"certificate"`
	SignedAt    time.Time    `json:"signedAt"`
	Files       []SignedFile `json:"files"`
}

// SignedFile is the signature of one file's bytes.
type SignedFile struct {
	Name      string `json:"name"`
	SHA256    string `json:"sha256"`
	Signature []byte `json:"signature"`
}

// File is a file to sign: its base name and bytes.
type File struct {
	Name string
	Data []byte
}

// Signer signs with one ledger identity's private key.
type Signer struct {
	mspID   string
	certPEM []byte
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// ErrKey reports a certificate or private key that cannot sign: unreadable,
// not ECDSA, or not a pair.
var ErrKey = errors.New("report: signing identity")

// NewSigner takes an identity's certificate and private key (PEM, PKCS#8
// or SEC 1, as Fabric's MSP folders hold them) and checks they are a pair.
func NewSigner(mspID string, certPEM, keyPEM []byte) (*Signer, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrKey, err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, fmt.Errorf("%w: private key: no PEM block", ErrKey)
	}
	var key *ecdsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private key is %T, not ECDSA", ErrKey, k)
		}
		key = ek
	} else if key, err = x509.ParseECPrivateKey(blk.Bytes); err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrKey, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: the private key is not the certificate's", ErrKey)
	}
	if mspID == "" {
		return nil, fmt.Errorf("%w: MSP ID is empty", ErrKey)
	}
	return &Signer{mspID: mspID, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), cert: cert, key: key}, nil
}

// MSPID returns the signer's organisation.
func (s *Signer) MSPID() string { return s.mspID }

// Sign signs each file's bytes.
func (s *Signer) Sign(now time.Time, files ...File) (*Signature, error) {
	sig := &Signature{
		Format: SignatureFormat, Algorithm: Algorithm, MSPID: s.mspID, Certificate: string(s.certPEM),
		SignedAt: now.UTC(), Files: []SignedFile{},
	}
	for _, f := range files {
		d := sha256.Sum256(f.Data)
		b, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
		if err != nil {
			return nil, fmt.Errorf("report: sign %s: %w", f.Name, err)
		}
		sig.Files = append(sig.Files, SignedFile{Name: filepath.Base(f.Name), SHA256: hex.EncodeToString(d[:]), Signature: b})
	}
	return sig, nil
}

// Encode returns the signature file's bytes.
func (s *Signature) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DecodeSignature parses a signature file.
func DecodeSignature(b []byte) (*Signature, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Signature
	if err := dec.Decode(&s); err != nil {
		return nil, &VerifyError{Reason: ErrMalformed, Detail: err.Error()}
	}
	if s.Format != SignatureFormat || s.Algorithm != Algorithm {
		return nil, &VerifyError{Reason: ErrMalformed, Detail: fmt.Sprintf("format %q algorithm %q, want %q %q", s.Format, s.Algorithm, SignatureFormat, Algorithm)}
	}
	return &s, nil
}

// Reasons a verification fails; a *VerifyError wraps one of them.
var (
	// ErrMalformed: the signature file or its certificate cannot be read.
	ErrMalformed = errors.New("malformed signature file")
	// ErrNotSigned: the signature file has no entry for the file.
	ErrNotSigned = errors.New("file not covered by the signature file")
	// ErrTampered: the file's bytes are not what was signed.
	ErrTampered = errors.New("signature does not match the file")
	// ErrUntrusted: the signer's certificate does not chain to a trusted CA.
	ErrUntrusted = errors.New("signer's certificate does not chain to a trusted CA")
	// ErrExpired: the signer's certificate is outside its validity period.
	ErrExpired = errors.New("signer's certificate is expired or not yet valid")
)

// VerifyError reports why a file's signature was refused.
type VerifyError struct {
	Reason error
	Detail string
}

func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return "report: " + e.Reason.Error()
	}
	return "report: " + e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns the reason, one of the Err* values above.
func (e *VerifyError) Unwrap() error { return e.Reason }

// Trust is the set of CA certificates a signer's certificate must chain to.
type Trust struct {
	Roots         *x509.CertPool
	Intermediates *x509.CertPool
	n             int
}

// ParseTrust reads CA certificates from PEM blobs: self-signed ones become
// roots, the others intermediates. It fails when no root is found.
func ParseTrust(pems ...[]byte) (Trust, error) {
	t := Trust{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool()}
	for _, p := range pems {
		for {
			var blk *pem.Block
			blk, p = pem.Decode(p)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return Trust{}, fmt.Errorf("report: CA certificate: %w", err)
			}
			if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
				t.Roots.AddCert(c)
				t.n++
			} else {
				t.Intermediates.AddCert(c)
			}
		}
	}
	if t.n == 0 {
		return Trust{}, errors.New("report: no CA root certificate found")
	}
	return t, nil
}

// Verified describes a signature that verified.
type Verified struct {
	MSPID    string
	Subject  string
	SignedAt time.Time
	// Fingerprint is the SHA-256 of the signer's certificate (DER).
	Fingerprint string
}

// VerifyFile checks the signature of the file named name (matched by base
// name) with bytes data: that the signer's certificate chains to trust and
// is valid at now, and that the signature over the bytes verifies with its
// key. It returns a *VerifyError naming the reason on failure.
func VerifyFile(sig *Signature, name string, data []byte, trust Trust, now time.Time) (*Verified, error) {
	var entry *SignedFile
	for i := range sig.Files {
		if sig.Files[i].Name == filepath.Base(name) {
			entry = &sig.Files[i]
		}
	}
	if entry == nil {
		return nil, &VerifyError{Reason: ErrNotSigned, Detail: filepath.Base(name)}
	}
	cert, err := parseCert([]byte(sig.Certificate))
	if err != nil {
		return nil, &VerifyError{Reason: ErrMalformed, Detail: "certificate: " + err.Error()}
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, &VerifyError{Reason: ErrExpired, Detail: fmt.Sprintf("valid %s to %s, checked at %s",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots: trust.Roots, Intermediates: trust.Intermediates, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, &VerifyError{Reason: ErrExpired, Detail: err.Error()}
		}
		return nil, &VerifyError{Reason: ErrUntrusted, Detail: err.Error()}
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, &VerifyError{Reason: ErrUntrusted, Detail: "the certificate may not sign (no digitalSignature key usage)"}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, &VerifyError{Reason: ErrMalformed, Detail: fmt.Sprintf("certificate key is %T, not ECDSA", cert.PublicKey)}
	}
	d := sha256.Sum256(data)
	if hex.EncodeToString(d[:]) != entry.SHA256 || !ecdsa.VerifyASN1(pub, d[:], entry.Signature) {
		return nil, &VerifyError{Reason: ErrTampered, Detail: filepath.Base(name)}
	}
	fp := sha256.Sum256(cert.Raw)
	return &Verified{MSPID: sig.MSPID, Subject: cert.Subject.String(), SignedAt: sig.SignedAt, Fingerprint: hex.EncodeToString(fp[:])}, nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(p)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}
