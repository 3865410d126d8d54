package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Serve reads TLS and the shutdown grace from the adapter's own Config
// (one source for each): plain HTTP without a certificate, TLS with one,
// and nil once the server is shut down.
func TestServeUsesItsConfig(t *testing.T) {
	cert, key := selfSigned(t)
	tests := []struct {
		name   string
		tls    TLS
		scheme string
	}{
		{"plain", TLS{}, "http"},
		{"tls", TLS{CertFile: cert, KeyFile: key}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *testCfg) { c.TLS = tt.tls; c.ShutdownTimeout = 7 * time.Second })
			if got, want := h.srv.ShutdownTimeout(), 7*time.Second; got != want {
				t.Errorf("ShutdownTimeout = %v, want %v", got, want)
			}
			if got, want := h.srv.TLSEnabled(), tt.tls.Enabled(); got != want {
				t.Errorf("TLSEnabled = %v, want %v", got, want)
			}
			srv := h.srv.NewHTTPServer()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- h.srv.Serve(srv, ln) }()
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a self-signed test certificate
			}}
			resp, err := client.Get(tt.scheme + "://" + ln.Addr().String() + "/healthz")
			if err != nil {
				t.Fatalf("GET over %s: %v", tt.scheme, err)
			}
			resp.Body.Close()
			if got, want := resp.TLS != nil, tt.tls.Enabled(); got != want {
				t.Errorf("served over TLS = %v, want %v", got, want)
			}
			if err := srv.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Errorf("Serve after Shutdown = %v, want nil", err)
			}
		})
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
