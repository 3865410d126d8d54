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

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
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
	return &fabricCalls{c: c.Gateway(), close: c.Close, channel: lf.channel, chaincode: lf.chaincode}, nil
}

type fabricCalls struct {
	c                  *client.Gateway
	close              func() error
	channel, chaincode string
}

func (f *fabricCalls) contract(name string) *client.Contract {
	return f.c.GetNetwork(f.channel).GetContractWithName(f.chaincode, name)
}

func (f *fabricCalls) Evaluate(ctx context.Context, contract, fn string, args ...string) ([]byte, error) {
	b, err := f.contract(contract).EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return nil, ledgerError(contract, fn, err)
	}
	return b, nil
}

func (f *fabricCalls) Submit(ctx context.Context, contract, fn string, args ...string) ([]byte, error) {
	b, err := f.contract(contract).SubmitWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return nil, ledgerError(contract, fn, err)
	}
	return b, nil
}

func (f *fabricCalls) Close() error { return f.close() }

// ledgerError adds the peers' details, where the chaincode's own
// explanation (e.g. "access denied: ... needs admin") travels.
func ledgerError(contract, fn string, err error) error {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		for _, d := range s.Details() {
			if ed, ok := d.(interface{ GetMessage() string }); ok && ed.GetMessage() != "" && !strings.Contains(msg, ed.GetMessage()) {
				msg += "; " + ed.GetMessage()
			}
		}
	}
	return fmt.Errorf("%s:%s: %s", contract, fn, msg)
}

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
	if l.pageSize != 0 && (l.pageSize < 1 || l.pageSize > wire.MaxPageSize) {
		return usageError{fmt.Errorf("--page-size %d must be 1..%d", l.pageSize, wire.MaxPageSize)}
	}
	if l.limit < 0 {
		return usageError{fmt.Errorf("--limit %d must not be negative", l.limit)}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), l.lf.timeout)
	defer cancel()
	lc, err := dialLedger(ctx, &l.lf)
	if err != nil {
		return err
	}
	defer lc.Close()
	return f(ctx, lc)
}

// evaluateJSON evaluates and decodes the result into out.
func evaluateJSON(ctx context.Context, lc ledgerCalls, out any, contract, fn string, args ...string) error {
	b, err := lc.Evaluate(ctx, contract, fn, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s:%s: decode result: %w", contract, fn, err)
	}
	return nil
}

// submitJSON submits and decodes the result into out.
func submitJSON(ctx context.Context, lc ledgerCalls, out any, contract, fn string, args ...string) error {
	b, err := lc.Submit(ctx, contract, fn, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s:%s: decode result: %w", contract, fn, err)
	}
	return nil
}

// maxPages guards against a ledger that keeps returning bookmarks.
const maxPages = 10000

// collect follows a paginated query's bookmarks until limit records (0:
// all) were gathered or nothing is left. call receives pageSize and the
// bookmark as strings, as the chaincode takes them.
func collect[T any](ctx context.Context, lc ledgerCalls, l *ledgerCmd, contract, fn string, args ...string) ([]T, error) {
	pageSize := l.pageSize
	if pageSize == 0 {
		pageSize = 100
	}
	var out []T
	bookmark := ""
	for range maxPages {
		var page wire.Page[T]
		a := append(append([]string{}, args...), strconv.Itoa(pageSize), bookmark)
		if err := evaluateJSON(ctx, lc, &page, contract, fn, a...); err != nil {
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
	return out, fmt.Errorf("%s:%s: stopped after %d pages", contract, fn, maxPages)
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
