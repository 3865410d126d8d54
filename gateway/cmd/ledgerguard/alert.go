package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Alerts are addressed by (batch id, alert id): the batch that anchored
// the flagged event and the alert's own id.

func newAlertCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alert",
		Short: "list, inspect, acknowledge and resolve alerts on the ledger",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return usageError{errors.New("alert needs a subcommand")} },
	}
	cmd.AddCommand(newAlertListCmd(), newAlertShowCmd(), newAlertHistoryCmd(),
		newAlertStatusCmd("ack", "acknowledge an alert (analyst or admin of its organisation)", func(bool) string { return wire.AlertAcknowledged }),
		newAlertStatusCmd("resolve", "resolve an alert, or with --false-positive mark it so (analyst or admin)", func(fp bool) string {
			if fp {
				return wire.AlertFalsePositive
			}
			return wire.AlertResolved
		}))
	return cmd
}

func newAlertListCmd() *cobra.Command {
	var l ledgerCmd
	var f wire.AlertFilter
	var since, until string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list alerts (filter by status, severity, category, asset, principal, batch, time)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if since != "" {
				if f.Since, err = wire.ParseTime(since); err != nil {
					return usageError{fmt.Errorf("--since: %w", err)}
				}
			}
			if until != "" {
				if f.Until, err = wire.ParseTime(until); err != nil {
					return usageError{fmt.Errorf("--until: %w", err)}
				}
			}
			if err := f.Validate(); err != nil {
				return usageError{err}
			}
			return runList(cmd, &l, evaluate(wire.ContractAlerts, wire.TxListAlerts, filterArg(f)), func(w io.Writer, as []wire.Alert) error {
				if l.jsonOut {
					return printJSON(w, nonNil(as))
				}
				rows := make([][]string, 0, len(as))
				for _, a := range as {
					rows = append(rows, []string{when(a.RaisedAt), a.BatchID, a.ID, a.Severity, strconv.FormatFloat(a.Score, 'f', 3, 64),
						a.Category, orDash(a.Asset), orDash(a.Principal), a.Status})
				}
				return table(w, []string{"RAISED", "BATCH", "ID", "SEVERITY", "SCORE", "CATEGORY", "ASSET", "PRINCIPAL", "STATUS"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	cmd.Flags().StringVar(&f.Status, "status", "", "open, acknowledged, resolved or false-positive")
	cmd.Flags().StringVar(&f.MinSeverity, "min-severity", "", "info, low, medium, high or critical")
	cmd.Flags().StringVar(&f.Category, "category", "", "category (e.g. T1110)")
	cmd.Flags().StringVar(&f.Asset, "asset", "", "asset")
	cmd.Flags().StringVar(&f.Principal, "principal", "", "principal (as recorded, possibly pseudonymised)")
	cmd.Flags().StringVar(&f.BatchID, "batch", "", "batch id")
	cmd.Flags().StringVar(&f.MSP, "msp", "", "organisation MSP id")
	cmd.Flags().StringVar(&f.GatewayID, "gateway", "", "gateway id")
	cmd.Flags().StringVar(&since, "since", "", "raised at or after (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "raised before (RFC 3339)")
	return cmd
}

func newAlertShowCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "show BATCH_ID ALERT_ID",
		Short: "show an alert",
		Args:  argsExactly("BATCH_ID", "ALERT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOne(cmd, &l, evaluate(wire.ContractAlerts, wire.TxGetAlert, args[0], args[1]), l.printAlert)
		},
	}
	l.register(cmd, "")
	return cmd
}

func newAlertHistoryCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "history BATCH_ID ALERT_ID",
		Short: "every committed change of an alert, newest first",
		Args:  argsExactly("BATCH_ID", "ALERT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd, &l, evaluate(wire.ContractAlerts, wire.TxGetAlertHistory, args[0], args[1]), func(w io.Writer, h []wire.HistoryEntry[wire.Alert]) error {
				if l.jsonOut {
					return printJSON(w, nonNil(h))
				}
				rows := make([][]string, 0, len(h))
				for _, e := range h {
					status, by, reason := "(deleted)", "-", "-"
					if a := e.Value; a != nil {
						status = a.Status
						if c := a.LastChange; c != nil && c.TxID == e.TxID {
							by, reason = c.By.MSP, c.Reason
						} else if a.RaisedBy != nil {
							by, reason = a.RaisedBy.MSP, "raised"
						}
					}
					rows = append(rows, []string{when(e.Timestamp), e.TxID, status, by, clip(reason, 60)})
				}
				return table(w, []string{"TIME", "TX", "STATUS", "BY", "REASON"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	return cmd
}

func newAlertStatusCmd(name, short string, status func(falsePositive bool) string) *cobra.Command {
	var l ledgerCmd
	var reason string
	var falsePositive bool
	cmd := &cobra.Command{
		Use:   name + " BATCH_ID ALERT_ID --reason TEXT",
		Short: short,
		Args:  argsExactly("BATCH_ID", "ALERT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireReason(reason); err != nil {
				return err
			}
			return runOne(cmd, &l, submit(wire.ContractAlerts, wire.TxUpdateAlertStatus, args[0], args[1], status(falsePositive), reason), l.printAlert)
		},
	}
	l.register(cmd, "analyst")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required, recorded on the ledger)")
	if name == "resolve" {
		cmd.Flags().BoolVar(&falsePositive, "false-positive", false, "mark the alert a false positive instead of resolved")
	}
	return cmd
}

func (l *ledgerCmd) printAlert(w io.Writer, a *wire.Alert) error {
	if l.jsonOut {
		return printJSON(w, a)
	}
	kv := [][2]string{
		{"id", a.ID}, {"batch", a.BatchID}, {"status", a.Status}, {"severity", a.Severity},
		{"score", strconv.FormatFloat(a.Score, 'f', -1, 64)}, {"category", a.Category},
		{"asset", orDash(a.Asset)}, {"principal", orDash(a.Principal)},
		{"detector", fmt.Sprintf("%s %s (sha256 %s)", a.Detector.ID, a.Detector.Version, a.Detector.SHA256)},
		{"event", a.EventHash + " at " + when(a.EventTime)}, {"msp", a.MSP}, {"gateway", a.GatewayID},
		{"raised", when(a.RaisedAt) + " " + orDash(a.RaisedTx)},
	}
	if a.Count > 0 {
		kv = append(kv, [2]string{"count", fmt.Sprintf("%d detections, last seen %s", a.Count, when(a.LastSeen))})
	}
	if a.SuppressedBy != nil {
		kv = append(kv, [2]string{"suppressed by", fmt.Sprintf("rule %s/%d", a.SuppressedBy.ID, a.SuppressedBy.Version)})
	}
	if c := a.LastChange; c != nil {
		kv = append(kv, [2]string{"last change", fmt.Sprintf("%s %s→%s by %s: %s (tx %s)", when(c.At), c.From, c.Status, c.By.MSP, c.Reason, c.TxID)})
	}
	keys := make([]string, 0, len(a.Fields))
	for k := range a.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv = append(kv, [2]string{"field " + k, a.Fields[k]})
	}
	return fields(w, kv)
}
