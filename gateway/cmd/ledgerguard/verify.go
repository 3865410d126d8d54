package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// errTampered is returned (exit status 1) when a bundle does not verify;
// the findings are already printed.
var errTampered = errors.New("the bundle does NOT verify")

func newVerifyCmd() *cobra.Command {
	var lf ledgerFlags
	var online, quiet bool
	cmd := &cobra.Command{
		Use:   "verify BUNDLE [--online --profile P --identity auditor]",
		Short: "check an evidence bundle offline (exit 0 only if everything verifies)",
		Long: `verify checks an evidence bundle written by 'ledgerguard export', offline:
it recomputes every leaf hash from the events' bytes, checks each inclusion
proof against its batch's anchored root, each root against the anchoring
transaction's write set, each transaction's validation code, creator
signature and endorsements (one valid peer endorsement from every
organisation in the bundle, certificates chained to the CA certificates the
bundle took from the channel configuration), consistency between
consecutive batches, and that every batch is complete and in order.

It prints a summary and one line per problem naming the event (id, seq) or
batch. Compare the CA fingerprints it prints with your consortium's record,
or use --online to compare them and every batch with the live ledger.
Exit status: 0 verified, 1 problems found (or the bundle is unreadable),
2 usage error.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("verify takes one BUNDLE file, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.Open(args[0])
			if err != nil {
				return usageError{err}
			}
			defer file.Close()
			ctx := cmd.Context()
			pr := newProgress(cmd.ErrOrStderr(), quiet, "verified")
			opts := []evidence.VerifyOption{evidence.WithProgress(func(p evidence.Progress) { pr.show(p.Events, p.TotalEvents) })}
			if online {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, lf.timeout)
				defer cancel()
				c, err := lf.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				opts = append(opts, evidence.WithOnline(fabric.NewEvidenceSource(c, lf.channel, lf.chaincode)))
			}
			rep, err := evidence.Verify(ctx, file, opts...)
			pr.done()
			if err != nil {
				return fmt.Errorf("verify %s: %w", args[0], err)
			}
			printReport(cmd.OutOrStdout(), rep, online)
			if !rep.OK() {
				return errTampered
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also compare the bundle with the live ledger")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress on stderr")
	lf.register(cmd)
	if t := cmd.Flags().Lookup("timeout"); t != nil {
		t.DefValue = "30m"
		_ = t.Value.Set("30m")
		t.Usage = "overall time limit of the online check"
	}
	return cmd
}

func printReport(w io.Writer, rep *evidence.Report, online bool) {
	fmt.Fprintf(w, "bundle of gateway %s/%s on channel %s (chaincode %s)\n", rep.GatewayMSP, rep.GatewayID, rep.Channel, rep.Chaincode)
	for _, o := range rep.Orgs {
		for _, fp := range o.Fingerprints {
			fmt.Fprintf(w, "trusted CA of %s: sha256 %s\n", o.MSPID, fp)
		}
	}
	mode := "offline"
	if online {
		mode = "online"
	}
	fmt.Fprintf(w, "checked (%s): %d events, %d batches, %d transactions, %d valid endorsements\n",
		mode, rep.Events, rep.Batches, rep.Transactions, rep.Endorsements)
	for _, f := range rep.Findings {
		fmt.Fprintln(w, f.String())
	}
	if rep.OK() {
		fmt.Fprintln(w, "OK: every event, batch, transaction and endorsement verified")
	} else {
		fmt.Fprintf(w, "FAILED: %d problems\n", len(rep.Findings))
	}
}
