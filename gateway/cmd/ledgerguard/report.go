package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/report"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// errEvidenceNotVerified is returned (exit status 1) after a report was
// written whose evidence did not verify; the verdict is already printed.
var errEvidenceNotVerified = errors.New("the report is written, but the period's evidence did NOT verify")

// errSignatureRefused is returned (exit status 1) when report verify
// refuses a signature; the reason is already printed.
var errSignatureRefused = errors.New("the report's signature does NOT verify")

type reportFlags struct {
	l          ledgerCmd
	from, to   string
	out        string
	bundle     string
	storeDir   string
	gatewayMSP string
	gatewayID  string
	quiet      bool
}

// loadReportSigner returns the signer for the ledger identity the flags
// name and the profile's MSP. Tests replace it.
var loadReportSigner = func(lf *ledgerFlags) (*report.Signer, error) {
	p, err := fabric.LoadProfile(lf.profile)
	if err != nil {
		return nil, usageError{err}
	}
	return profileSigner(p, lf.identity)
}

// profileSigner returns the report signer of enrolled identity name of
// the profile's organisation (its certificate and private key), as the
// CLI's report and the console's report button both sign.
func profileSigner(p *fabric.Profile, name string) (*report.Signer, error) {
	certPath, keyPath, err := p.CredentialPaths(name)
	if err != nil {
		return nil, usageError{err}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, usageError{fmt.Errorf("signing identity: %w", err)}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, usageError{fmt.Errorf("signing identity: %w", err)}
	}
	return report.NewSigner(p.MSPID(), certPEM, keyPEM)
}

// reportNow is the report's clock. Tests replace it.
var reportNow = time.Now

func newReportCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report --from T --to T -o REPORT.json (--store DIR --gateway-id ID | --bundle FILE)",
		Short: "write a signed compliance report for a period (JSON + printable HTML)",
		Long: `report writes a compliance report for an auditor covering [--from, --to):
the batches anchored for events of the period (Merkle roots, transactions,
blocks), the alerts raised in it by category and status, the response
policies in force and who approved them, the actions decided and their
outcomes, the models used (sha256, approvals), and the result of verifying
the period's evidence bundle.

The evidence is either exported from the gateway's store (--store, as
'ledgerguard export' does; the gateway must NOT be running on it, and the
bundle is kept beside the report as REPORT.bundle.jsonl.gz) or a bundle
given with --bundle; it is verified offline as 'ledgerguard verify' does,
and compared with the batches the ledger lists for the period.

Batches, alerts and responses are those of --gateway-msp (default: the
profile's organisation), of gateway --gateway-id when given. It writes
REPORT.json (machine-readable), REPORT.html (rendered from the JSON, prints
well, no external assets) and REPORT.sig: detached ECDSA signatures over
both files made with the private key of the ledger identity used
(--profile/--identity) and its certificate. Check them offline with
'ledgerguard report verify'.

Exit status: 0 written and the evidence verified (or nothing was anchored);
1 written but the evidence did not verify, or a failure; 2 usage error.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usageError{fmt.Errorf("report takes no arguments (did you mean 'report verify REPORT.json REPORT.sig'?), got %q", args)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "start of the period, RFC 3339 (inclusive; required)")
	fl.StringVar(&f.to, "to", "", "end of the period, RFC 3339 (exclusive; required)")
	fl.StringVarP(&f.out, "output", "o", "", "report file to write, ending in .json (required); .html and .sig are written beside it")
	fl.StringVar(&f.bundle, "bundle", "", "evidence bundle of the period to verify (instead of --store)")
	fl.StringVar(&f.storeDir, "store", "", "gateway store directory to export the period's evidence from (the gateway must not be running on it)")
	fl.StringVar(&f.gatewayMSP, "gateway-msp", "", "organisation whose batches, alerts and responses are reported (default: the profile's)")
	fl.StringVar(&f.gatewayID, "gateway-id", "", "only this gateway's batches, alerts and responses (required with --store)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	f.l.lf.register(cmd)
	if id := fl.Lookup("identity"); id != nil {
		_ = id.Value.Set("auditor")
		id.DefValue = "auditor"
		id.Usage = "enrolled identity of the profile's org that reads the ledger and signs the report"
	}
	if t := fl.Lookup("timeout"); t != nil {
		t.DefValue = "30m"
		_ = t.Value.Set("30m")
	}
	fl.IntVar(&f.l.pageSize, "page-size", 100, "records per ledger query (1..1000)")
	cmd.AddCommand(newReportVerifyCmd())
	return cmd
}

// parsePeriod parses --from and --to; every problem is a usage error.
func parsePeriod(from, to string) (report.Period, error) {
	if from == "" || to == "" {
		return report.Period{}, usageError{errors.New("report: --from and --to are required (RFC 3339, e.g. 2026-12-01T00:00:00Z)")}
	}
	var p report.Period
	for _, x := range []struct {
		name, s string
		dst     *time.Time
	}{{"--from", from, &p.From}, {"--to", to, &p.To}} {
		t, err := time.Parse(time.RFC3339Nano, x.s)
		if err != nil {
			return report.Period{}, usageError{fmt.Errorf("report: %s %q is not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z): %w", x.name, x.s, err)}
		}
		*x.dst = t.UTC()
	}
	if !p.From.Before(p.To) {
		return report.Period{}, usageError{fmt.Errorf("report: --from %s must be before --to %s", from, to)}
	}
	return p, nil
}

func runReport(cmd *cobra.Command, f *reportFlags) error {
	period, err := parsePeriod(f.from, f.to)
	if err != nil {
		return err
	}
	switch {
	case f.out == "" || !strings.HasSuffix(f.out, ".json"):
		return usageError{errors.New("report: -o REPORT.json is required (the .html and .sig files are written beside it)")}
	case (f.bundle == "") == (f.storeDir == ""):
		return usageError{errors.New("report: give --store DIR (export the period's evidence) or --bundle FILE (verify a given bundle), one of them")}
	case f.storeDir != "" && f.gatewayID == "":
		return usageError{errors.New("report: --store needs --gateway-id (whose log the store is)")}
	case f.l.pageSize < 1 || f.l.pageSize > wire.MaxPageSize:
		return usageError{fmt.Errorf("report: --page-size %d must be 1..%d", f.l.pageSize, wire.MaxPageSize)}
	}
	for _, p := range []string{f.bundle, f.storeDir} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return usageError{fmt.Errorf("report: %w", err)}
		}
	}
	base := strings.TrimSuffix(f.out, ".json")
	signer, err := loadReportSigner(&f.l.lf)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	scope := report.Scope{MSP: f.gatewayMSP, GatewayID: f.gatewayID}
	if scope.MSP == "" {
		scope.MSP = signer.MSPID()
	}

	ctx, cancel := context.WithTimeout(cmd.Context(), f.l.lf.timeout)
	defer cancel()
	ev, err := reportEvidence(ctx, cmd, f, period, scope, base)
	if err != nil {
		return err
	}

	in := report.Inputs{
		GeneratedAt: reportNow(), Org: signer.MSPID(), Channel: f.l.lf.channel, Chaincode: f.l.lf.chaincode,
		Period: period, Scope: scope, Evidence: ev,
	}
	err = f.l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
		return report.ReadLedger(ctx, lc.Evaluate, &in, f.l.pageSize)
	})
	if err != nil {
		return fmt.Errorf("report: read the ledger: %w", err)
	}
	signed, err := report.Produce(in, signer, reportNow(), base)
	if err != nil {
		return err
	}
	rep, jsonBytes, htmlBytes, sigBytes := signed.Report, signed.JSON, signed.HTML, signed.Sig
	// The signature is written last: a report with a .sig is complete.
	for _, w := range []struct {
		path string
		data []byte
	}{{base + ".json", jsonBytes}, {base + ".html", htmlBytes}, {base + ".sig", sigBytes}} {
		if err := durable.AtomicReplace(nil, w.path, w.data); err != nil {
			return fmt.Errorf("report: write %s: %w", w.path, err)
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "wrote %s.json, %s.html and %s.sig (signed by %s)\n", base, base, base, signer.MSPID())
	fmt.Fprintf(out, "period %s to %s: %d batches (%d events), %d alerts, %d policies in force, %d responses, %d models\n",
		period.From.Format(time.RFC3339), period.To.Format(time.RFC3339), rep.Anchoring.Batches, rep.Anchoring.Events,
		rep.Alerts.Total, len(rep.Policies), rep.Responses.Total, len(rep.Models))
	fmt.Fprintf(out, "evidence: %s\n", rep.Evidence.Verdict)
	for _, s := range append(append(append([]string{}, rep.Evidence.Findings...), rep.Evidence.Mismatched...), prefixAll("missing from the bundle: batch ", rep.Evidence.Missing)...) {
		fmt.Fprintln(out, "  "+s)
	}
	switch rep.Evidence.Verdict {
	case report.VerdictVerified, report.VerdictNothingAnchored:
		return nil
	default:
		return errEvidenceNotVerified
	}
}

// reportEvidence checks the bundle given with --bundle, or exports the
// period's bundle from the store beside the report and checks it. It
// returns nil when the store holds no batch of the period.
func reportEvidence(ctx context.Context, cmd *cobra.Command, f *reportFlags, period report.Period, scope report.Scope, base string) (*report.Evidence, error) {
	if f.bundle != "" {
		file, err := os.Open(f.bundle)
		if err != nil {
			return nil, usageError{fmt.Errorf("report: %w", err)}
		}
		defer file.Close()
		ev, err := report.CheckBundle(ctx, file, "given with --bundle", filepath.Base(f.bundle))
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", f.bundle, err)
		}
		return ev, nil
	}
	st, err := store.Open(ctx, f.storeDir, store.WithGateway(scope.MSP, f.gatewayID), store.WithBatchMaxWait(24*time.Hour), store.WithReadOnly())
	if err != nil {
		return nil, fmt.Errorf("report: open store (is the gateway still running on it?): %w", err)
	}
	defer st.Close()
	c, err := f.l.lf.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	path := base + ".bundle.jsonl.gz"
	req := evidence.Request{
		GatewayMSP: scope.MSP, GatewayID: f.gatewayID, Channel: f.l.lf.channel, Chaincode: f.l.lf.chaincode,
		From: period.From, To: period.To, Gzip: true,
	}
	pr := newProgress(cmd.ErrOrStderr(), f.quiet, "exported")
	req.Progress = func(n, total int) { pr.show(n, total) }
	err = durable.AtomicWrite(nil, path, func(w io.Writer) error {
		_, err := evidence.Export(ctx, w, st, fabric.NewEvidenceSource(c, f.l.lf.channel, f.l.lf.chaincode), req)
		return err
	})
	pr.done()
	if errors.Is(err, evidence.ErrNothingToExport) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report: export the period's evidence: %w", err)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	ev, err := report.CheckBundle(ctx, file, "exported from the gateway's store", filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return ev, nil
}

func prefixAll(p string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = p + x
	}
	return out
}

func newReportVerifyCmd() *cobra.Command {
	var caFiles []string
	var profile string
	cmd := &cobra.Command{
		Use:   "verify REPORT.json|REPORT.html REPORT.sig [--ca CA.pem | --profile P]",
		Short: "check a report's detached signature offline (exit 0 only if it verifies)",
		Long: `report verify checks, offline, that the report file's bytes are what the
signature file signs, with the certificate it carries, and that this
certificate chains to the organisation's CA and is valid now. The CA
certificates come from --ca (PEM files; self-signed ones are roots) or else
from the connection profile's organisation MSP (its cacerts and
intermediatecerts); with --profile the signer must also be of that
organisation. For a JSON report it also checks that the report names the
signer's organisation.

Exit status: 0 verified, 1 refused (tampered file, untrusted, expired or
unknown certificate, malformed signature file), 2 usage error.`,
		Args: argsExactly("REPORT", "SIG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(caFiles) > 0 && cmd.Flags().Changed("profile") {
				return usageError{errors.New("report verify: give --ca or --profile, not both")}
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			sigBytes, err := os.ReadFile(args[1])
			if err != nil {
				return usageError{err}
			}
			var pems [][]byte
			wantMSP := ""
			if len(caFiles) > 0 {
				for _, name := range caFiles {
					b, err := os.ReadFile(name)
					if err != nil {
						return usageError{err}
					}
					pems = append(pems, b)
				}
			} else {
				p, err := fabric.LoadProfile(profile)
				if err != nil {
					return usageError{err}
				}
				roots, inter, err := p.OrgCACerts()
				if err != nil {
					return usageError{err}
				}
				pems = append(roots, inter...)
				wantMSP = p.MSPID()
			}
			trust, err := report.ParseTrust(pems...)
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			refuse := func(err error) error {
				fmt.Fprintf(out, "REFUSED: %s: %v\n", args[0], err)
				return errSignatureRefused
			}
			sig, err := report.DecodeSignature(sigBytes)
			if err != nil {
				return refuse(err)
			}
			v, err := report.VerifyFile(sig, args[0], data, trust, time.Now())
			if err != nil {
				return refuse(err)
			}
			if wantMSP != "" && v.MSPID != wantMSP {
				return refuse(fmt.Errorf("signed as %s, but the profile's organisation is %s", v.MSPID, wantMSP))
			}
			if strings.HasSuffix(args[0], ".json") {
				rep, err := report.Decode(data)
				if err != nil {
					return refuse(err)
				}
				if rep.Org != v.MSPID {
					return refuse(fmt.Errorf("the report is of %s but signed as %s", rep.Org, v.MSPID))
				}
			}
			fmt.Fprintf(out, "OK: %s is signed by %s (%s) at %s; certificate sha256 %s chains to the trusted CA\n",
				args[0], v.MSPID, v.Subject, v.SignedAt.Format(time.RFC3339), v.Fingerprint)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&caFiles, "ca", nil, "CA certificate PEM file(s) to trust (instead of the profile's)")
	cmd.Flags().StringVar(&profile, "profile", "network/run/connection-org1.json", "connection profile whose organisation's MSP CA to trust")
	return cmd
}
