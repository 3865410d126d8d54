package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/report"
)

// onePageLedger ends the fake's policy listing after one page and lists
// no models, so a report reads to the end.
type onePageLedger struct{ *fakeLedger }

func (l onePageLedger) Evaluate(ctx context.Context, contract, tx string, args ...string) ([]byte, error) {
	switch {
	case tx == wire.TxListModels:
		return json.Marshal(wire.Page[wire.ModelRecord]{})
	case tx == wire.TxListPolicies && len(args) > 0 && args[len(args)-1] != "":
		return json.Marshal(wire.Page[wire.Policy]{})
	}
	return l.fakeLedger.Evaluate(ctx, contract, tx, args...)
}

// testSigner is a self-signed ECDSA identity of Org1MSP, and the CA that
// trusts it.
func testSigner(t testing.TB) (*report.Signer, report.Trust) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditor", Organization: []string{"Org1"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s, err := report.NewSigner("Org1MSP", certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := report.ParseTrust(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return s, trust
}

func TestReportButtonProducesASignedReport(t *testing.T) {
	fix := testFixture(t)
	signer, trust := testSigner(t)
	h := newHarness(t, Config{}, func(d *Deps) {
		d.Ledger = onePageLedger{d.Ledger.(*fakeLedger)}
		d.Reports = &Reports{Signer: signer, Channel: "lgchannel", Chaincode: "ledgerguard",
			Evidence: func(ctx context.Context, w io.Writer, from, to time.Time) error {
				_, err := evidence.Export(ctx, w, fix.store, fix.ledger, evidence.Request{GatewayMSP: "Org1MSP", GatewayID: "gw-1",
					Channel: "lgchannel", Chaincode: "ledgerguard", From: from, To: to, Gzip: true})
				return err
			}}
	})
	// The fake ledger lists the fixture's anchored batches.
	h.ledger.batches = nil
	for _, b := range fix.batch {
		h.ledger.batches = append(h.ledger.batches, wire.Batch{ID: b.ID, MSP: "Org1MSP", GatewayID: "gw-1", TreeSizeBefore: b.TreeSizeBefore,
			TreeSizeAfter: b.TreeSizeAfter, RootHash: b.RootHash, FirstSeq: b.FirstSeq, LastSeq: b.LastSeq, FirstEventTime: wire.NewTime(b.TimeFrom), LastEventTime: wire.NewTime(b.TimeTo),
			TxID: b.TxID, AnchoredAt: wire.NewTime(t0)})
	}
	b := h.signIn(readTok) // read scope may produce reports
	_, page, _ := b.get(Prefix + "/evidence")
	if !strings.Contains(page, `id="report-form"`) {
		t.Fatal("evidence view lacks the report form")
	}
	form := url.Values{"from": {"2026-11-25T09:00"}, "to": {"2026-11-25T11:00"}}

	// No CSRF token: refused, nothing started.
	if st, _, _ := b.post(Prefix+"/evidence/report", form); st != http.StatusForbidden {
		t.Fatalf("report without CSRF: %d, want 403", st)
	}
	if got := len(h.c.jobs.reports); got != 0 {
		t.Fatalf("a refused request started %d reports", got)
	}
	bad := url.Values{"from": {"2026-11-25T11:00"}, "to": {"2026-11-25T09:00"}, "csrf": {b.csrf}}
	if st, _, _ := b.post(Prefix+"/evidence/report", bad); st != http.StatusBadRequest {
		t.Fatalf("backwards period: %d, want 400", st)
	}

	form.Set("csrf", b.csrf)
	st, body, hdr := b.post(Prefix+"/evidence/report", form)
	if st != http.StatusSeeOther {
		t.Fatalf("report: %d %s", st, body)
	}
	loc := hdr.Get("Location")
	if other := h.signIn(readTok); true {
		if st, _, _ := other.get(loc); st != http.StatusNotFound {
			t.Fatalf("another session sees the report: %d", st)
		}
	}
	var v reportView
	deadline := time.Now().Add(30 * time.Second)
	for !v.Done && time.Now().Before(deadline) {
		_, body, _ := b.get(loc + "/status")
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !v.Done || v.Error != "" || !v.OK || v.Verdict != report.VerdictVerified {
		t.Fatalf("report job: %+v", v)
	}
	_, page, _ = b.get(loc)
	if !strings.Contains(page, `id="report-files"`) || !strings.Contains(page, "verified") {
		t.Fatalf("report page lacks the files or the verdict:\n%s", page)
	}
	files := map[string][]byte{}
	for _, ext := range []string{"json", "html", "sig"} {
		resp, err := b.client.Get(h.srv.URL + loc + "/files/" + ext)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `attachment; filename="` + v.Name + "." + ext + `"`
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != want {
			t.Fatalf("files/%s: %d %q, want 200 %q", ext, resp.StatusCode, resp.Header.Get("Content-Disposition"), want)
		}
		files[ext] = data
	}
	sig, err := report.DecodeSignature(files["sig"])
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"json", "html"} {
		if _, err := report.VerifyFile(sig, v.Name+"."+ext, files[ext], trust, time.Now()); err != nil {
			t.Errorf("%s does not verify: %v", ext, err)
		}
	}
	rep, err := report.Decode(files["json"])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Anchoring.Batches, len(fix.batch); got != want {
		t.Errorf("batches: got %d, want %d", got, want)
	}
	if rep.Org != "Org1MSP" || rep.Alerts.Total != 2 {
		t.Errorf("report: org %s alerts %d, want Org1MSP 2", rep.Org, rep.Alerts.Total)
	}
}

func TestReportWithoutSignerSaysSo(t *testing.T) {
	h := newHarness(t, Config{})
	b := h.signIn(readTok)
	_, page, _ := b.get(Prefix + "/evidence")
	if strings.Contains(page, `id="report-form"`) || !strings.Contains(page, "ledgerguard report") {
		t.Fatal("evidence view offers reports without a signer")
	}
	st, _, _ := b.post(Prefix+"/evidence/report", url.Values{"from": {"2026-11-25T09:00"}, "to": {"2026-11-25T11:00"}, "csrf": {b.csrf}})
	if st != http.StatusNotImplemented {
		t.Fatalf("report without signer: %d, want 501", st)
	}
}
