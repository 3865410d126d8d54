package main

// ledgerguard intel: share threat intelligence from STIX bundles, export
// what this organisation may read as STIX 2.1, and list, show, revoke,
// purge and read the sightings of indicators on the ledger.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
)

// intelCalls is what the intel commands need of the ledger: the intel
// client (gateway/fabric implements it) and a filtered listing.
type intelCalls interface {
	intel.Ledger
	ListIndicators(ctx context.Context, f wire.IndicatorFilter, pageSize int32, bookmark string) (wire.Page[wire.Indicator], error)
	Close() error
}

// dialIntel connects as the flags say. Tests replace it.
var dialIntel = func(ctx context.Context, lf *ledgerFlags) (intelCalls, error) {
	c, err := lf.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &fabricIntel{Ledger: fabric.NewLedger(c, lf.channel, lf.chaincode), c: c}, nil
}

// intelSharer returns the MSP id the flags' connection profile acts for:
// the sharing organisation (the ledger records it from the certificate;
// import needs it first to address AMBER indicators). Tests replace it.
var intelSharer = func(lf *ledgerFlags) (string, error) {
	p, err := fabric.LoadProfile(lf.profile)
	if err != nil {
		return "", usageError{err}
	}
	return p.MSPID(), nil
}

type fabricIntel struct {
	*fabric.Ledger
	c *fabric.Client
}

func (f *fabricIntel) Close() error { return f.c.Close() }

func newIntelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "share threat intelligence (STIX import/export) and work with indicators on the ledger",
		Long: `intel shares indicators of compromise with the consortium and reads them back.

The ledger's public state holds only a keyed hash of each value (HMAC-SHA256
under the consortium key, which members hold off the ledger); values live in
Fabric private data chosen by TLP: CLEAR and GREEN for every member, AMBER
for the named recipients (always including the sharer), AMBER+STRICT for the
sharer alone. RED is never shared.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return usageError{errors.New("intel needs a subcommand")} },
	}
	cmd.AddCommand(newIntelImportCmd(), newIntelExportCmd(), newIntelListCmd(), newIntelShowCmd(),
		newIntelRevokeCmd(), newIntelPurgeCmd(), newIntelSightingsCmd())
	return cmd
}

// runIntel dials, calls f with the intel client and a deadline, and
// closes.
func (l *ledgerCmd) runIntel(cmd *cobra.Command, f func(ctx context.Context, ic intelCalls) error) error {
	return runWith(cmd, l, dialIntel, f)
}

// intelKeyFlags name the consortium key a share hashes values with.
type intelKeyFlags struct {
	id, file string
}

func (k *intelKeyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.id, "key-id", "", "id of the consortium indicator key (recorded with every indicator; required)")
	cmd.Flags().StringVar(&k.file, "key-file", "", "file holding the consortium key's secret: hex, or raw bytes (at least 16; the gateway's intel.keys[].secret_file format; required)")
}

// load reads the key as the gateway's intel configuration reads its
// secret files (intel.ReadKey), so one file serves both.
func (k *intelKeyFlags) load() (intel.Key, error) {
	if k.id == "" || k.file == "" {
		return intel.Key{}, usageError{errors.New("--key-id and --key-file are required: values are hashed with the consortium key")}
	}
	key, err := intel.ReadKey(k.id, k.file)
	if err != nil {
		return intel.Key{}, usageError{fmt.Errorf("--key-file: %w", err)}
	}
	return key, nil
}

// importResult is what intel import prints with --json.
type importResult struct {
	DryRun     bool           `json:"dryRun,omitempty"`
	SharedTx   string         `json:"sharedTx,omitempty"`
	SharedTxs  []string       `json:"sharedTxs,omitempty"`
	ValueTxs   []string       `json:"valueTxs,omitempty"`
	Indicators []importedInd  `json:"indicators"`
	Skipped    []stix.Skipped `json:"skipped"`
	Objects    int            `json:"objects"`
	Key        string         `json:"keyId,omitempty"`
	Sharer     string         `json:"sharer"`
	Failed     *importFailure `json:"failed,omitempty"`
}

type importedInd struct {
	ID         string   `json:"id,omitempty"`
	StixID     string   `json:"stixId"`
	Type       string   `json:"type"`
	Value      string   `json:"value"`
	TLP        string   `json:"tlp"`
	Recipients []string `json:"recipients,omitempty"`
}

type importFailure struct {
	Error string `json:"error"`
}

func newIntelImportCmd() *cobra.Command {
	var l ledgerCmd
	var k intelKeyFlags
	var tlp string
	var recipients []string
	var confidence int
	var skip, dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "share the indicators of a STIX 2.1 or 2.0 bundle (all or nothing)",
		Long: `import reads a STIX 2.1 or 2.0 bundle and shares its indicators in one
ShareIndicators transaction (AMBER values follow in StoreIndicatorValues
transactions endorsed by their recipients only).

Patterns: equality comparisons (and IN sets) on file hashes (SHA-256, SHA-1,
MD5), domain-name, ipv4-addr/ipv6-addr (addresses or CIDR ranges), url,
email-addr, the HTTP User-Agent header and JA3/JA4 fingerprints, joined by
OR (one indicator per value). AND, FOLLOWEDBY, qualifiers and other
properties cannot be shared: the import stops with exit status 1 naming the
object, and nothing is shared, unless --skip-unshareable, which shares the
rest and lists what it left out (also for invalid values and TLP:RED).

TLP comes from each object's TLP 1.0 or 2.0 marking; --tlp marks unmarked
objects and never loosens a marking (an object marked less strictly is
shared at --tlp). Confidence comes from the object, else --confidence.
ATT&CK technique ids come from the object's external references and the
attack patterns related to it; the kill-chain phase from the object, else
those attack patterns.`,
		Args: argsExactly("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tlp != "" {
				t, err := stix.ParseTLP(tlp)
				if err != nil {
					return usageError{fmt.Errorf("--tlp: %w", err)}
				}
				if t == wire.TLPRed {
					return usageError{errors.New("--tlp RED: TLP:RED indicators are never shared")}
				}
				tlp = t
			}
			if confidence < 1 || confidence > 100 {
				return usageError{fmt.Errorf("--confidence %d must be 1..100", confidence)}
			}
			var key intel.Key
			if !dryRun {
				var err error
				if key, err = k.load(); err != nil {
					return err
				}
			}
			sharer, err := intelSharer(&l.lf)
			if err != nil && !dryRun {
				return err
			}
			// A dry run works without a profile; only AMBER then needs one
			// (its recipients include the sharer).
			data, err := readBundleFile(args[0])
			if err != nil {
				return err
			}
			imp, err := stix.Parse(data, stix.ImportOptions{TLP: tlp, Sharer: sharer, Recipients: recipients,
				Confidence: confidence, SkipUnshareable: skip})
			if err != nil {
				return fmt.Errorf("import %s: %w (nothing was shared)", args[0], err)
			}
			res := importResult{DryRun: dryRun, Skipped: nonNil(imp.Skipped), Objects: imp.Objects, Key: key.ID, Sharer: sharer}
			for _, in := range imp.Inputs {
				res.Indicators = append(res.Indicators, importedInd{StixID: in.StixID, Type: in.Type, Value: in.Value, TLP: in.TLP, Recipients: in.Recipients})
			}
			res.Indicators = nonNil(res.Indicators)
			if len(imp.Inputs) == 0 {
				return fmt.Errorf("import %s: no indicator to share (%d objects, %d indicator objects, %d skipped)", args[0], imp.Objects, imp.IndicatorObjects, len(imp.Skipped))
			}
			if dryRun {
				return printImport(cmd, l.jsonOut, res)
			}
			share, values, err := intel.Prepare(sharer, key, imp.Inputs, nil)
			if err != nil {
				return fmt.Errorf("import %s: %w (nothing was shared)", args[0], err)
			}
			for i := range res.Indicators {
				res.Indicators[i].ID = share.Indicators[i].ID
			}
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				sr, err := ic.Share(ctx, share, values, key)
				res.SharedTx, res.SharedTxs, res.ValueTxs = sr.SharedTx, sr.SharedTxs, sr.ValueTxs
				if err != nil {
					if sr.SharedTx == "" {
						return fmt.Errorf("import %s: %w (nothing was shared)", args[0], err)
					}
					// The public records are committed but AMBER values are
					// not all stored: sharing again is idempotent (same ids)
					// and stores them.
					res.Failed = &importFailure{Error: err.Error()}
					_ = printImport(cmd, l.jsonOut, res)
					return fmt.Errorf("import %s: records committed in %s but storing AMBER values failed: %w; run the same import again to store them", args[0], sr.SharedTx, err)
				}
				return printImport(cmd, l.jsonOut, res)
			})
		},
	}
	l.register(cmd, "author")
	k.register(cmd)
	cmd.Flags().StringVar(&tlp, "tlp", "", "TLP for objects without a TLP marking, and the least strict TLP shared (CLEAR, GREEN, AMBER, AMBER+STRICT)")
	cmd.Flags().StringSliceVar(&recipients, "recipients", nil, "MSP ids AMBER indicators are shared with, besides this organisation (comma-separated)")
	cmd.Flags().IntVar(&confidence, "confidence", stix.DefaultConfidence, "confidence (1..100) for objects that carry none")
	cmd.Flags().BoolVar(&skip, "skip-unshareable", false, "share what can be shared and list the rest, instead of refusing the whole bundle")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "parse and print what would be shared, without the ledger or the key")
	return cmd
}

// readBundleFile reads a bundle, refusing one over the import limit
// before reading it all.
func readBundleFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, stix.DefaultMaxBundleBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > stix.DefaultMaxBundleBytes {
		return nil, fmt.Errorf("import %s: bundle exceeds %d bytes (nothing was shared); split it", path, stix.DefaultMaxBundleBytes)
	}
	return b, nil
}

func printImport(cmd *cobra.Command, jsonOut bool, res importResult) error {
	w := cmd.OutOrStdout()
	if jsonOut {
		return printJSON(w, res)
	}
	rows := make([][]string, 0, len(res.Indicators))
	for _, in := range res.Indicators {
		rows = append(rows, []string{shortID(in.ID), in.StixID, in.Type, clip(in.Value, 60), tlpOf(in.TLP, in.Recipients)})
	}
	if err := table(w, []string{"ID", "STIX ID", "TYPE", "VALUE", "TLP"}, rows); err != nil {
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: %s\n", s.ID, s.Reason)
	}
	switch {
	case res.DryRun:
		fmt.Fprintf(w, "dry run: %d indicators from %d objects would be shared by %s (%d skipped)\n", len(res.Indicators), res.Objects, res.Sharer, len(res.Skipped))
	default:
		fmt.Fprintf(w, "shared %d indicators from %d objects as %s in %s", len(res.Indicators), res.Objects, res.Sharer, strings.Join(res.SharedTxs, ","))
		if len(res.ValueTxs) > 0 {
			fmt.Fprintf(w, "; AMBER values stored in %s", strings.Join(res.ValueTxs, ","))
		}
		fmt.Fprintf(w, " (%d skipped)\n", len(res.Skipped))
	}
	return nil
}

// shortID shortens an indicator id for tables ("-" when unset).
func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return orDash(id)
}

// tlpOf shows a TLP with its recipients.
func tlpOf(tlp string, recipients []string) string {
	if len(recipients) == 0 {
		return tlp
	}
	return tlp + " (" + strings.Join(recipients, ",") + ")"
}

// intelFilter holds the filter flags of list and export.
type intelFilter struct {
	typ, tlp, sharedBy string
}

func (f *intelFilter) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.typ, "type", "", "indicator type ("+strings.Join(wire.IndicatorTypes, ", ")+")")
	cmd.Flags().StringVar(&f.tlp, "tlp", "", "TLP (CLEAR, GREEN, AMBER, AMBER+STRICT)")
	cmd.Flags().StringVar(&f.sharedBy, "shared-by", "", "sharing organisation (MSP id)")
}

func (f *intelFilter) filter() (wire.IndicatorFilter, error) {
	out := wire.IndicatorFilter{Type: f.typ, SharedBy: f.sharedBy}
	if f.typ != "" && !wire.IsIndicatorType(f.typ) {
		return out, usageError{fmt.Errorf("--type %q is not one of %s", f.typ, strings.Join(wire.IndicatorTypes, ", "))}
	}
	if f.tlp != "" {
		t, err := stix.ParseTLP(f.tlp)
		if err != nil {
			return out, usageError{fmt.Errorf("--tlp: %w", err)}
		}
		out.TLP = t
	}
	return out, nil
}

// collectIndicators follows ListIndicators' bookmarks until limit records
// (0: all) were gathered or nothing is left.
func collectIndicators(ctx context.Context, ic intelCalls, l *ledgerCmd, f wire.IndicatorFilter) ([]wire.Indicator, error) {
	pageSize := l.pageSize
	if pageSize == 0 {
		pageSize = 100
	}
	var out []wire.Indicator
	bookmark := ""
	for range maxPages {
		page, err := ic.ListIndicators(ctx, f, int32(pageSize), bookmark)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", wire.ContractIntel, wire.TxListIndicators, err)
		}
		out = append(out, page.Records...)
		if l.limit > 0 && len(out) >= l.limit {
			return out[:l.limit], nil
		}
		if page.Bookmark == "" {
			return out, nil
		}
		bookmark = page.Bookmark
	}
	return out, fmt.Errorf("%s:%s: stopped after %d pages", wire.ContractIntel, wire.TxListIndicators, maxPages)
}

func newIntelExportCmd() *cobra.Command {
	var l ledgerCmd
	var f intelFilter
	var out string
	var includeRevoked bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "write the indicators this organisation may read as a STIX 2.1 bundle",
		Long: `export writes a STIX 2.1 bundle of the indicators whose values this
organisation may read: indicator objects with their patterns, validity,
confidence, kill-chain phase, ATT&CK techniques and TLP 2.0 marking, the
TLP marking definitions and the identities of the sharing organisations.
Indicators it cannot read (another organisation's AMBER, purged ones) are
left out and counted on stderr; revoked ones too unless --include-revoked,
which writes them with revoked: true. --out is written atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			l.limit = 0
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				inds, err := collectIndicators(ctx, ic, &l, filter)
				if err != nil {
					return err
				}
				exp, err := stix.ExportBundle(inds, includeRevoked)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				if out == "" || out == "-" {
					if _, err := cmd.OutOrStdout().Write(exp.Bundle); err != nil {
						return err
					}
				} else if err := durable.AtomicWrite(durable.OS{}, out, func(w io.Writer) error {
					_, err := io.Copy(w, bytes.NewReader(exp.Bundle))
					return err
				}); err != nil {
					return fmt.Errorf("export: write %s: %w", out, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d indicators (%d left out: not readable here, purged or revoked)\n", exp.Indicators, len(exp.Skipped))
				return nil
			})
		},
	}
	l.register(cmd, "")
	cmd.Flags().IntVar(&l.pageSize, "page-size", 500, "records per ledger query (1..1000)")
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	cmd.Flags().BoolVar(&includeRevoked, "include-revoked", false, "also write revoked indicators, marked revoked: true")
	return cmd
}

func newIntelListCmd() *cobra.Command {
	var l ledgerCmd
	var f intelFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the indicators this organisation may see (filter by type, TLP, sharer)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				inds, err := collectIndicators(ctx, ic, &l, filter)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if l.jsonOut {
					return printJSON(w, nonNil(inds))
				}
				rows := make([][]string, 0, len(inds))
				for _, ind := range inds {
					rows = append(rows, []string{shortID(ind.ID), ind.Type, orDash(clip(ind.Value, 48)), tlpOf(ind.TLP, ind.Recipients),
						strconv.Itoa(ind.Confidence), ind.SharedBy, when(ind.SharedAt), ind.Status})
				}
				return table(w, []string{"ID", "TYPE", "VALUE", "TLP", "CONF", "SHARED BY", "SHARED", "STATUS"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	f.register(cmd)
	return cmd
}

func newIntelShowCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "show an indicator (its value when this organisation may read it)",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				ind, err := ic.Indicator(ctx, args[0])
				if err != nil {
					return fmt.Errorf("%s:%s: %w", wire.ContractIntel, wire.TxGetIndicator, err)
				}
				w := cmd.OutOrStdout()
				if l.jsonOut {
					return printJSON(w, ind)
				}
				value := ind.Value
				if value == "" {
					value = "- (not readable by this organisation, or purged)"
				}
				return fields(w, [][2]string{
					{"id", ind.ID}, {"type", ind.Type}, {"value", value}, {"hash", ind.Hash + " (key " + ind.KeyID + ")"},
					{"tlp", tlpOf(ind.TLP, ind.Recipients)}, {"confidence", strconv.Itoa(ind.Confidence)},
					{"valid", when(ind.ValidFrom) + " .. " + when(ind.ValidUntil)},
					{"techniques", orDash(strings.Join(ind.Techniques, ","))}, {"kill chain", orDash(ind.KillChainPhase)},
					{"stix id", orDash(ind.StixID)}, {"shared", ind.SharedBy + " " + when(ind.SharedAt) + " tx " + orDash(ind.SharedTx)},
					{"status", ind.Status}, {"revoked", when(ind.RevokedAt) + " tx " + orDash(ind.RevokedTx)},
					{"purged", when(ind.PurgedAt) + " tx " + orDash(ind.PurgedTx)},
					{"value hash", orDash(ind.ValueHash) + onLedger(ind.ValueOnLedger)},
				})
			})
		},
	}
	l.register(cmd, "")
	return cmd
}

func onLedger(ok bool) string {
	if ok {
		return " (private data holds it, unchanged)"
	}
	return " (not in this peer's private data)"
}

func newIntelRevokeCmd() *cobra.Command {
	var l ledgerCmd
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "revoke an indicator this organisation shared (gateways stop matching it)",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireReason(reason); err != nil {
				return err
			}
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				tx, err := ic.Revoke(ctx, args[0], reason)
				if err != nil {
					return fmt.Errorf("%s:%s: %w", wire.ContractIntel, wire.TxRevokeIndicator, err)
				}
				return printTx(cmd, l.jsonOut, "revoked", args[0], tx)
			})
		},
	}
	l.register(cmd, "author")
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded on the ledger; required)")
	return cmd
}

func newIntelPurgeCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "purge ID",
		Short: "remove an indicator's plaintext from private data (its hash and history stay)",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				tx, err := ic.Purge(ctx, args[0])
				if err != nil {
					return fmt.Errorf("%s:%s: %w", wire.ContractIntel, wire.TxPurgeIndicator, err)
				}
				return printTx(cmd, l.jsonOut, "purged", args[0], tx)
			})
		},
	}
	l.register(cmd, "author")
	return cmd
}

func printTx(cmd *cobra.Command, jsonOut bool, what, id, tx string) error {
	if jsonOut {
		return printJSON(cmd.OutOrStdout(), map[string]string{"id": id, "status": what, "txId": tx})
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s %s in tx %s\n", what, id, tx)
	return err
}

func newIntelSightingsCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "sightings ID",
		Short: "list the sightings members reported for an indicator",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return l.runIntel(cmd, func(ctx context.Context, ic intelCalls) error {
				pageSize := l.pageSize
				if pageSize == 0 {
					pageSize = 100
				}
				var all []wire.Sighting
				bookmark := ""
				for range maxPages {
					page, err := ic.Sightings(ctx, args[0], int32(pageSize), bookmark)
					if err != nil {
						return fmt.Errorf("%s:%s: %w", wire.ContractIntel, wire.TxGetSightings, err)
					}
					all = append(all, page.Records...)
					if page.Bookmark == "" || (l.limit > 0 && len(all) >= l.limit) {
						break
					}
					bookmark = page.Bookmark
				}
				if l.limit > 0 && len(all) > l.limit {
					all = all[:l.limit]
				}
				w := cmd.OutOrStdout()
				if l.jsonOut {
					return printJSON(w, nonNil(all))
				}
				rows := make([][]string, 0, len(all))
				for _, s := range all {
					rows = append(rows, []string{orDash(s.ReportedBy), strconv.FormatInt(s.Count, 10), when(s.FirstSeen), when(s.LastSeen), when(s.ReportedAt), orDash(s.ReportedTx)})
				}
				return table(w, []string{"REPORTED BY", "COUNT", "FIRST SEEN", "LAST SEEN", "REPORTED", "TX"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	return cmd
}
