package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/report"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "b.jsonl")
	if err := os.WriteFile(bundle, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"from after to", []string{"report", "--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--bundle", bundle, "-o", out}, "must be before --to"},
		{"from equals to", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--bundle", bundle, "-o", out}, "must be before --to"},
		{"unparseable from", []string{"report", "--from", "yesterday", "--to", "2026-12-01T00:00:00Z", "--bundle", bundle, "-o", out}, `--from "yesterday" is not an RFC 3339 time`},
		{"unparseable to", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-13-01", "--bundle", bundle, "-o", out}, `--to "2026-13-01" is not an RFC 3339 time`},
		{"no period", []string{"report", "--bundle", bundle, "-o", out}, "--from and --to are required"},
		{"no output", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--bundle", bundle}, "-o REPORT.json is required"},
		{"output not .json", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--bundle", bundle, "-o", "r.html"}, "-o REPORT.json is required"},
		{"no evidence", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "-o", out}, "give --store DIR"},
		{"both evidence sources", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "-o", out, "--bundle", bundle, "--store", dir, "--gateway-id", "g"}, "one of them"},
		{"store without gateway id", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "-o", out, "--store", dir}, "--store needs --gateway-id"},
		{"missing bundle file", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "-o", out, "--bundle", filepath.Join(dir, "nope")}, "no such file"},
		{"page size", []string{"report", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "-o", out, "--bundle", bundle, "--page-size", "0"}, "--page-size 0"},
		{"stray argument", []string{"report", "now"}, "report takes no arguments"},
		{"unknown flag", []string{"report", "--since", "x"}, "unknown flag"},
		{"verify: one argument", []string{"report", "verify", "r.json"}, "takes 2 argument(s)"},
		{"verify: --ca and --profile", []string{"report", "verify", bundle, bundle, "--ca", bundle, "--profile", bundle}, "not both"},
		{"verify: missing report", []string{"report", "verify", filepath.Join(dir, "nope.json"), bundle, "--ca", bundle}, "no such file"},
		{"verify: CA file without a certificate", []string{"report", "verify", bundle, bundle, "--ca", bundle}, "no CA root certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLedger{}
			_, err := runCLI(t, fake, tt.args...)
			if got := exitCode(err); got != 2 {
				t.Fatalf("exit %d (%v), want 2", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not say %q", err, tt.want)
			}
			if len(fake.calls) != 0 {
				t.Errorf("called the ledger on bad input: %v", fake.calls)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("wrote %s on bad input", out)
			}
		})
	}
}

// testIdentity is an org CA (PEM file) and a signer it issued.
func testIdentity(t *testing.T, dir string) (caFile string, signer *report.Signer) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.org1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "auditor"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	signer, err = report.NewSigner("Org1MSP", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}))
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, signer
}

// testBundle anchors ten events (three batches) of a real store on a fake
// ledger and writes their bundle; it returns the file and the batches as
// the ledger lists them.
func testBundle(t *testing.T, dir string, t0 time.Time) (string, []wire.Batch) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "store"), store.WithGateway("Org1MSP", "gw1"), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := make([]gateway.Event, 10)
	for i := range events {
		events[i] = gateway.Event{Received: t0, Time: t0.Add(time.Duration(i) * time.Minute), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("failed login %d", i))}
	}
	if _, err := st.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := evidencetest.NewLedger(wire.Channel, wire.Chaincode, "Org1MSP", "Org2MSP")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batches []wire.Batch
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkAnchored(ctx, b.ID, tx, uint64(5+i)); err != nil {
			t.Fatal(err)
		}
		wb, err := l.AnchoredBatch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, wb)
	}
	var buf bytes.Buffer
	if _, err := evidence.Export(ctx, &buf, st, l, evidence.Request{GatewayMSP: "Org1MSP", GatewayID: "gw1", Channel: wire.Channel,
		Chaincode: wire.Chaincode, From: t0, To: t0.Add(time.Hour), Gzip: true}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "period.jsonl.gz")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, batches
}

func TestReportWritesSignedReportAndVerifyChecksIt(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	caFile, signer := testIdentity(t, dir)
	savedSigner, savedNow := loadReportSigner, reportNow
	loadReportSigner = func(*ledgerFlags) (*report.Signer, error) { return signer, nil }
	reportNow = func() time.Time { return t0.Add(2 * time.Hour) }
	t.Cleanup(func() { loadReportSigner, reportNow = savedSigner, savedNow })

	bundle, batches := testBundle(t, dir, t0)
	model := wire.Model{ID: "kdd-mlp", Version: "1", SHA256: strings.Repeat("a", 64)}
	alert := wire.Alert{ID: "al1", MSP: "Org1MSP", GatewayID: "gw1", EventHash: strings.Repeat("e", 64), BatchID: batches[0].ID,
		Detector: model, Score: 0.99, Severity: "critical", Category: "T1110", Status: wire.AlertOpen,
		RaisedAt: wire.NewTime(t0.Add(3 * time.Minute)), RaisedTx: "tx-raise"}
	fake := &fakeLedger{answers: map[string]any{
		"events:ListBatches":      wire.Page[wire.Batch]{Records: batches},
		"alerts:ListAlerts":       wire.Page[wire.Alert]{Records: []wire.Alert{alert}},
		"responses:ListResponses": wire.Page[wire.Response]{},
		"policies:ListPolicies":   wire.Page[wire.Policy]{},
		"models:ListModels":       wire.Page[wire.ModelRecord]{Records: []wire.ModelRecord{{Name: "kdd-mlp", Version: "1", SHA256: model.SHA256, State: wire.ModelApproved}}},
	}}
	out := filepath.Join(dir, "r.json")
	stdout, err := runCLI(t, fake, "report", "--from", t0.Format(time.RFC3339), "--to", t0.Add(time.Hour).Format(time.RFC3339),
		"--bundle", bundle, "--gateway-id", "gw1", "-o", out)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, stdout)
	}
	for _, want := range []string{"3 batches (10 events), 1 alerts", "evidence: verified"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	wantCall := fmt.Sprintf("events:ListBatches(Org1MSP,gw1,%s,%s,100,)", wire.NewTime(t0), wire.NewTime(t0.Add(time.Hour)))
	if len(fake.calls) == 0 || fake.calls[0] != wantCall {
		t.Errorf("first ledger call: got %v, want %s", fake.calls, wantCall)
	}
	jsonBytes, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Decode(jsonBytes)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evidence.Verdict != report.VerdictVerified || rep.Alerts.Total != 1 || len(rep.Models) != 1 || rep.Anchoring.Batches != 3 {
		t.Errorf("report: verdict %s, %d alerts, %d models, %d batches", rep.Evidence.Verdict, rep.Alerts.Total, len(rep.Models), rep.Anchoring.Batches)
	}
	html, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := report.RenderHTML(jsonBytes); !bytes.Equal(html, want) {
		t.Error("the HTML is not the rendering of the JSON")
	}
	sig := filepath.Join(dir, "r.sig")

	// Verify: good, HTML too, tampered, wrong CA.
	for _, f := range []string{out, filepath.Join(dir, "r.html")} {
		if stdout, err := runCLI(t, fake, "report", "verify", f, sig, "--ca", caFile); err != nil || !strings.Contains(stdout, "OK: ") {
			t.Errorf("verify %s: %v\n%s", f, err, stdout)
		}
	}
	tampered := filepath.Join(dir, "tampered", "r.json")
	if err := os.MkdirAll(filepath.Dir(tampered), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered, bytes.Replace(jsonBytes, []byte(`"total": 1`), []byte(`"total": 0`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, err = runCLI(t, fake, "report", "verify", tampered, sig, "--ca", caFile)
	if exitCode(err) != 1 || !strings.Contains(stdout, "REFUSED") || !strings.Contains(stdout, "signature does not match") {
		t.Errorf("verify a tampered report: exit %d (%v)\n%s", exitCode(err), err, stdout)
	}
	otherCA, _ := testIdentity(t, t.TempDir())
	stdout, err = runCLI(t, fake, "report", "verify", out, sig, "--ca", otherCA)
	if exitCode(err) != 1 || !strings.Contains(stdout, "does not chain to a trusted CA") {
		t.Errorf("verify against another CA: exit %d (%v)\n%s", exitCode(err), err, stdout)
	}
	stdout, err = runCLI(t, fake, "report", "verify", out, bundle, "--ca", caFile)
	if exitCode(err) != 1 || !strings.Contains(stdout, "malformed signature file") {
		t.Errorf("verify with a bundle as signature file: exit %d (%v)\n%s", exitCode(err), err, stdout)
	}
}
