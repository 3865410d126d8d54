package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func newResponseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "response",
		Short: "list, approve and roll back the response actions the ledger decided",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("response needs a subcommand")}
		},
	}
	cmd.AddCommand(newResponseListCmd(), newResponseShowCmd(), newResponseApproveCmd(), newResponseRollbackCmd())
	return cmd
}

func newResponseListCmd() *cobra.Command {
	var l ledgerCmd
	var f wire.ResponseFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list responses (filter by state, policy, alert, msp, gateway)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, &l, evaluate(wire.ContractResponses, wire.TxListResponses, filterArg(f)), func(w io.Writer, rs []wire.Response) error {
				if l.jsonOut {
					return printJSON(w, nonNil(rs))
				}
				rows := make([][]string, 0, len(rs))
				for _, r := range rs {
					rows = append(rows, []string{r.ID, r.State, fmt.Sprintf("%s/%d", r.PolicyID, r.PolicyVersion),
						r.AlertID, r.GatewayID, actionsOf(r.Actions),
						fmt.Sprintf("%d/%d", len(r.Approvals), r.RequiredApprovals), lastOutcome(r.Outcomes)})
				}
				return table(w, []string{"ID", "STATE", "POLICY", "ALERT", "GATEWAY", "ACTIONS", "APPROVALS", "LAST OUTCOME"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	cmd.Flags().StringVar(&f.State, "state", "", "requested, awaiting-approval, dry-run, rate-limited, succeeded, failed, rollback-requested, rolled-back, refused")
	cmd.Flags().StringVar(&f.PolicyID, "policy", "", "policy id")
	cmd.Flags().StringVar(&f.AlertID, "alert", "", "alert id")
	cmd.Flags().StringVar(&f.MSP, "msp", "", "organisation MSP id")
	cmd.Flags().StringVar(&f.GatewayID, "gateway", "", "gateway id")
	return cmd
}

func lastOutcome(o []wire.Outcome) string {
	if len(o) == 0 {
		return "-"
	}
	last := o[len(o)-1]
	return clip(last.Status+": "+last.Detail, 60)
}

// newResponseShowCmd shows one response; approve and rollback below print
// the response as the ledger left it in the same format.
func newResponseShowCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "show a response with its approvals and outcomes",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOne(cmd, &l, evaluate(wire.ContractResponses, wire.TxGetResponse, args[0]), l.printResponse)
		},
	}
	l.register(cmd, "")
	return cmd
}

func newResponseApproveCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "approve a response awaiting approval for your organisation (admin); at the policy's count it runs",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOne(cmd, &l, submit(wire.ContractResponses, wire.TxApproveResponse, args[0]), l.printResponse)
		},
	}
	l.register(cmd, "")
	return cmd
}

func newResponseRollbackCmd() *cobra.Command {
	var l ledgerCmd
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback ID --reason TEXT",
		Short: "ask your organisation's gateway to undo a succeeded response (analyst or admin)",
		Args:  argsExactly("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireReason(reason); err != nil {
				return err
			}
			return runOne(cmd, &l, submit(wire.ContractResponses, wire.TxRequestRollback, args[0], reason), l.printResponse)
		},
	}
	l.register(cmd, "analyst")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required, recorded on the ledger)")
	return cmd
}

func (l *ledgerCmd) printResponse(w io.Writer, r *wire.Response) error {
	if l.jsonOut {
		return printJSON(w, r)
	}
	kv := [][2]string{
		{"id", r.ID}, {"state", r.State}, {"policy", fmt.Sprintf("%s/%d", r.PolicyID, r.PolicyVersion)}, {"mode", r.Mode},
		{"alert", r.AlertID}, {"batch", orDash(r.BatchID)}, {"msp", r.MSP}, {"gateway", r.GatewayID}, {"target", orDash(r.Target)},
		{"approvals", fmt.Sprintf("%d/%d %s", len(r.Approvals), r.RequiredApprovals, approvalsOf(r.Approvals))},
		{"created", when(r.CreatedAt) + " " + r.CreatedTx},
	}
	if r.LimitedBy != "" {
		kv = append(kv, [2]string{"limited by", r.LimitedBy})
	}
	if r.RollbackBy != nil {
		kv = append(kv, [2]string{"rollback", r.RollbackBy.MSP + ": " + r.RollbackReason})
	}
	for i, a := range r.Actions {
		params, _ := json.Marshal(a.Params)
		kv = append(kv, [2]string{"action " + strconv.Itoa(i), a.Type + " " + string(params)})
	}
	for i, o := range r.Outcomes {
		kv = append(kv, [2]string{"outcome " + strconv.Itoa(i), fmt.Sprintf("%s %s %s: %s", when(o.At), o.TxID, o.Status, o.Detail)})
	}
	return fields(w, kv)
}
