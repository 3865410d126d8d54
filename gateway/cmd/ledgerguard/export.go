package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

type exportFlags struct {
	ledger     ledgerFlags
	storeDir   string
	gatewayMSP string
	gatewayID  string
	from, to   string
	events     []string
	out        string
	gzip       bool
	quiet      bool
}

func newExportCmd() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export --store DIR --gateway-msp MSP --gateway-id ID (--from T --to T | --events ID,...) -o FILE",
		Short: "write an evidence bundle: events, proofs and their anchoring transactions",
		Long: `export writes an evidence bundle that 'ledgerguard verify' checks offline.

It covers every sealed batch that overlaps the time range (by event time) or
holds one of the listed events, whole, so that removal, insertion and
reordering of events stay detectable. For each batch it includes the events'
stored bytes and inclusion proofs, the anchoring transaction exactly as
committed on the ledger (with its endorsements) and the consistency proof
from the previous batch; the organisations' CA certificates come from the
channel's configuration block.

The store directory is opened directly: the gateway must NOT be running on it
(stop it first, or export from a copy of the directory). The ledger is read
with the profile's identity (a channel reader such as "auditor").
A FILE ending in .gz is gzip-compressed. The file appears only once complete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExport(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.storeDir, "store", "", "gateway store directory (required; the gateway must not be running on it)")
	fl.StringVar(&f.gatewayMSP, "gateway-msp", "", "MSP id of the gateway whose log it is (required)")
	fl.StringVar(&f.gatewayID, "gateway-id", "", "gateway id (required)")
	fl.StringVar(&f.from, "from", "", "start of the time range, RFC 3339")
	fl.StringVar(&f.to, "to", "", "end of the time range, RFC 3339")
	fl.StringSliceVar(&f.events, "events", nil, "event ids (comma-separated) instead of a time range")
	fl.StringVarP(&f.out, "output", "o", "", "bundle file to write (required)")
	fl.BoolVar(&f.gzip, "gzip", false, "gzip the bundle (default: when FILE ends in .gz)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	f.ledger.register(cmd)
	if t := fl.Lookup("timeout"); t != nil {
		t.DefValue = "30m"
		_ = t.Value.Set("30m")
	}
	return cmd
}

func runExport(cmd *cobra.Command, f exportFlags) error {
	req := evidence.Request{
		GatewayMSP: f.gatewayMSP, GatewayID: f.gatewayID, Channel: f.ledger.channel, Chaincode: f.ledger.chaincode,
		EventIDs: f.events, Gzip: f.gzip || strings.HasSuffix(f.out, ".gz"),
	}
	switch {
	case f.storeDir == "" || f.gatewayMSP == "" || f.gatewayID == "" || f.out == "":
		return usageError{errors.New("export: --store, --gateway-msp, --gateway-id and -o are required")}
	case len(f.events) > 0 && (f.from != "" || f.to != ""):
		return usageError{errors.New("export: give --from/--to or --events, not both")}
	case len(f.events) == 0 && f.from == "" && f.to == "":
		return usageError{errors.New("export: give --from/--to or --events")}
	}
	for _, p := range []struct {
		s   string
		dst *time.Time
	}{{f.from, &req.From}, {f.to, &req.To}} {
		if p.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.s)
		if err != nil {
			return usageError{fmt.Errorf("export: %w", err)}
		}
		*p.dst = t
	}
	if _, err := os.Stat(f.storeDir); err != nil {
		return usageError{fmt.Errorf("export: store: %w", err)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.ledger.timeout)
	defer cancel()

	// Sealing by time cannot fire: the store is only read (the appender
	// seals on a timer armed by appends, and nothing is appended here).
	st, err := store.Open(ctx, f.storeDir, store.WithGateway(f.gatewayMSP, f.gatewayID), store.WithBatchMaxWait(24*time.Hour), store.WithReadOnly())
	if err != nil {
		return fmt.Errorf("export: open store (is the gateway still running on it?): %w", err)
	}
	defer st.Close()
	c, err := f.ledger.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	src := fabric.NewEvidenceSource(c, f.ledger.channel, f.ledger.chaincode)

	pr := newProgress(cmd.ErrOrStderr(), f.quiet, "exported")
	req.Progress = func(n, total int) { pr.show(n, total) }
	// A failed export never leaves a partial bundle that looks complete.
	var sum evidence.Summary
	err = durable.AtomicWrite(nil, f.out, func(w io.Writer) (err error) {
		sum, err = evidence.Export(ctx, w, st, src, req)
		return err
	})
	pr.done()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d batches, %d events\n", f.out, sum.Batches, sum.Events)
	return nil
}

// progress prints "N/TOTAL events" on one updated stderr line, at most a few
// times a second, and only when stderr is a terminal.
type progress struct {
	w     io.Writer
	on    bool
	verb  string
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, quiet bool, verb string) *progress {
	on := false
	if f, ok := w.(*os.File); ok && !quiet {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on, verb: verb}
}

func (p *progress) show(n, total int) {
	if !p.on || time.Since(p.last) < 250*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r%s %d/%d events", p.verb, n, total)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
