package main

// Shared plumbing of the people-facing ledger commands (policy, response,
// alert): one seam to the ledger that tests replace with canned answers,
// pagination that follows bookmarks, and table/JSON output.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// ledgerCalls is what the people-facing commands need from the ledger:
// evaluate (read) and submit (write, waiting for the commit) a chaincode
// function of a named contract.
type ledgerCalls interface {
	Evaluate(ctx context.Context, contract, fn string, args ...string) ([]byte, error)
	Submit(ctx context.Context, contract, fn string, args ...string) ([]byte, error)
	Close() error
}

// dialLedger connects as the flags say. Tests replace it.
var dialLedger = func(ctx context.Context, lf *ledgerFlags) (ledgerCalls, error) {
	c, err := lf.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &fabricCalls{Ledger: fabric.NewLedger(c, lf.channel, lf.chaincode), c: c}, nil
}

// fabricCalls is gateway/fabric's typed ledger client with the connection
// it owns. Its errors are classified (*gateway.LedgerRejectedError with the
// chaincode's code and message, or transient ones wrapping
// gateway.ErrLedgerUnavailable); callJSON names the contract and
// transaction in front of them.
type fabricCalls struct {
	*fabric.Ledger
	c *fabric.Client
}

func (f *fabricCalls) Close() error { return f.c.Close() }

// ledgerCmd holds the flags every people-facing ledger command shares.
type ledgerCmd struct {
	lf       ledgerFlags
	jsonOut  bool
	limit    int
	pageSize int
}

// register adds the ledger flags with identity defaulting to defIdentity
// (the role the chaincode requires for this command), plus --json.
func (l *ledgerCmd) register(cmd *cobra.Command, defIdentity string) {
	l.lf.register(cmd)
	if f := cmd.Flags().Lookup("identity"); f != nil && defIdentity != "" {
		_ = f.Value.Set(defIdentity)
		f.DefValue = defIdentity
	}
	cmd.Flags().BoolVar(&l.jsonOut, "json", false, "print JSON instead of a table")
}

// registerList adds --limit and --page-size.
func (l *ledgerCmd) registerList(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.limit, "limit", 50, "most records to print (0: all)")
	cmd.Flags().IntVar(&l.pageSize, "page-size", 100, "records per ledger query (1..1000)")
}

// run dials, calls f with the ledger and a deadline, and closes.
func (l *ledgerCmd) run(cmd *cobra.Command, f func(ctx context.Context, lc ledgerCalls) error) error {
	return runWith(cmd, l, dialLedger, f)
}

// runWith checks the list flags, dials with dial within --timeout, calls
// f with the client, and closes it: the one shape of every ledger command,
// whichever client (ledgerCalls, intelCalls) it needs.
func runWith[C interface{ Close() error }](cmd *cobra.Command, l *ledgerCmd, dial func(context.Context, *ledgerFlags) (C, error), f func(context.Context, C) error) error {
	if l.pageSize != 0 && (l.pageSize < 1 || l.pageSize > wire.MaxPageSize) {
		return usageError{fmt.Errorf("--page-size %d must be 1..%d", l.pageSize, wire.MaxPageSize)}
	}
	if l.limit < 0 {
		return usageError{fmt.Errorf("--limit %d must not be negative", l.limit)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), l.lf.timeout)
	defer cancel()
	c, err := dial(ctx, &l.lf)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// call is one chaincode transaction a command makes: contract and
// transaction names from chaincode/wire, its arguments, and whether it
// writes (submit, waiting for the commit) or only reads (evaluate).
type call struct {
	contract, tx string
	args         []string
	submit       bool
}

// evaluate and submit describe a read and a write.
func evaluate(contract, tx string, args ...string) call {
	return call{contract: contract, tx: tx, args: args}
}
func submit(contract, tx string, args ...string) call {
	return call{contract: contract, tx: tx, args: args, submit: true}
}

// callJSON makes c and decodes its result into out.
func callJSON(ctx context.Context, lc ledgerCalls, out any, c call) error {
	do := lc.Evaluate
	if c.submit {
		do = lc.Submit
	}
	b, err := do(ctx, c.contract, c.tx, c.args...)
	if err != nil {
		return fmt.Errorf("%s:%s: %w", c.contract, c.tx, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s:%s: decode result: %w", c.contract, c.tx, err)
	}
	return nil
}

// runOne is the shape of every single-record ledger command: dial, make c,
// print the record it returns.
func runOne[T any](cmd *cobra.Command, l *ledgerCmd, c call, print func(io.Writer, *T) error) error {
	return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
		var got T
		if err := callJSON(ctx, lc, &got, c); err != nil {
			return err
		}
		return print(cmd.OutOrStdout(), &got)
	})
}

// runList is the shape of every listing command: dial, follow c's pages
// (c.args come before page size and bookmark), print the records.
func runList[T any](cmd *cobra.Command, l *ledgerCmd, c call, print func(io.Writer, []T) error) error {
	return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
		rs, err := collect[T](ctx, lc, l, c)
		if err != nil {
			return err
		}
		return print(cmd.OutOrStdout(), rs)
	})
}

// filterArg is a list query's filter argument: "" for no filter, else JSON.
func filterArg[F comparable](f F) string {
	var zero F
	if f == zero {
		return ""
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// maxPages guards against a ledger that keeps returning bookmarks.
const maxPages = 10000

// collect follows a paginated query's bookmarks until limit records (0:
// all) were gathered or nothing is left. The chaincode takes pageSize and
// the bookmark as strings after c.args.
func collect[T any](ctx context.Context, lc ledgerCalls, l *ledgerCmd, c call) ([]T, error) {
	pageSize := l.pageSize
	if pageSize == 0 {
		pageSize = 100
	}
	var out []T
	bookmark := ""
	for range maxPages {
		var page wire.Page[T]
		pc := evaluate(c.contract, c.tx, append(append([]string{}, c.args...), strconv.Itoa(pageSize), bookmark)...)
		if err := callJSON(ctx, lc, &page, pc); err != nil {
			return nil, err
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
	return out, fmt.Errorf("%s:%s: stopped after %d pages", c.contract, c.tx, maxPages)
}

// printJSON writes v as indented JSON; nil slices print as [].
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // conditions hold && and >=; keep them readable
	return enc.Encode(v)
}

// table writes rows under a header, aligned with tabwriter.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes "name: value" lines, aligned.
func fields(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, p := range kv {
		fmt.Fprintf(tw, "%s:\t%s\n", p[0], p[1])
	}
	return tw.Flush()
}

// when formats a ledger time for tables ("-" when unset).
func when(t wire.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime + "Z")
}

// orDash returns s, or "-" when empty, so table columns never collapse.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes for a table cell.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// args returns a cobra argument check that reports a usage error naming
// the expected arguments.
func argsExactly(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageError{fmt.Errorf("%s takes %d argument(s): %s (got %d)", cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))}
		}
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return usageError{fmt.Errorf("%s: argument %s is empty", cmd.CommandPath(), names[i])}
			}
		}
		return nil
	}
}

// requireReason checks a --reason flag the chaincode requires.
func requireReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return usageError{fmt.Errorf("--reason is required: every decision on the ledger says why")}
	}
	if err := wire.ValidateReason(reason); err != nil {
		return usageError{err}
	}
	return nil
}

// parseVersion parses a policy version argument.
func parseVersion(s string, allowZero bool) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || (v == 0 && !allowZero) {
		return 0, usageError{fmt.Errorf("version %q must be a positive integer", s)}
	}
	return uint32(v), nil
}

func approvalsOf(a []wire.Approval) string {
	if len(a) == 0 {
		return "-"
	}
	msps := make([]string, len(a))
	for i, x := range a {
		msps[i] = x.MSP
	}
	return strings.Join(msps, ",")
}

func actionsOf(actions []wire.Action) string {
	t := make([]string, len(actions))
	for i, a := range actions {
		t[i] = a.Type
	}
	return orDash(strings.Join(t, ","))
}
