package syslogd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool
// trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syslogd-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// Connections that never start their TLS handshake are idle too: they
// cannot lock a TLS listener, and their eviction is not counted as a
// handshake failure.
func TestTLSIdleHandshakesEvicted(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cert, pool := selfSigned(t)
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	obs := &counts{}
	srv, err := New(Config{
		Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, TLS: tc, Meta: ingest.Meta{Source: "syslog"},
		MaxMessageBytes: 4096, MaxConnections: 2, EvictIdleAfter: 50 * time.Millisecond,
		IdleTimeout: 5 * time.Second, FlushEvents: 10, FlushInterval: 10 * time.Millisecond,
	}, Deps{Log: st, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(tls.NewListener(raw, tc)) }()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	addr := raw.Addr().String()
	var silent []net.Conn
	for i := range 2 {
		silent = append(silent, dialFrom(t, "127.0.0.1", addr)) // TCP only, no ClientHello
		waitFor(t, "the connection to be served", func() bool { return opened(obs) == i+1 })
	}
	time.Sleep(100 * time.Millisecond)

	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, "<13>Nov 25 10:00:02 tlshost app: over TLS\n")
	waitFor(t, "the TLS sender's event", func() bool { return st.Size() == 1 })
	if !closedByServer(t, silent[0], 5*time.Second) {
		t.Error("the silent connection idle longest was not evicted")
	}
	_, refused, evicted, _ := obs.fairness()
	if evicted[ReasonConnectionLimit] != 1 || len(refused) != 0 {
		t.Errorf("evicted %v refused %v, want connection_limit:1 and no handshake failure", evicted, refused)
	}
	if _, rejected := obs.get(); len(rejected) != 0 {
		t.Errorf("rejected %v, want none", rejected)
	}
}
