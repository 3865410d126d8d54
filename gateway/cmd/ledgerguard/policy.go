package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// policyFile is a response policy as people write it in YAML. Keys are the
// JSON names of wire.Policy (so `policy list --json` reads the same), and
// unknown keys are refused so a misspelt key fails instead of being
// silently dropped.
type policyFile struct {
	ID                string         `yaml:"id"`
	Version           uint32         `yaml:"version"`
	Description       string         `yaml:"description"`
	Condition         string         `yaml:"condition"`
	Mode              string         `yaml:"mode"`
	Actions           []actionFile   `yaml:"actions"`
	Limit             *rateLimitFile `yaml:"limit"`
	ResponseApprovals int            `yaml:"responseApprovals"`
	EscalateLimited   bool           `yaml:"escalateLimited"`
	Quorum            int            `yaml:"quorum"`
	Scope             string         `yaml:"scope"`
	Owner             string         `yaml:"owner"`
}

type actionFile struct {
	Type   string            `yaml:"type"`
	Params map[string]string `yaml:"params"`
}

type rateLimitFile struct {
	Max           int    `yaml:"max"`
	WindowSeconds int64  `yaml:"windowSeconds"`
	Target        string `yaml:"target"`
}

// policyFileError is a policy file that does not parse or validate. Field
// is the offending key path (e.g. "actions[0].params.host") when known.
type policyFileError struct {
	Path  string
	Field string
	Err   error
}

func (e *policyFileError) Error() string { return fmt.Sprintf("policy file %s: %v", e.Path, e.Err) }
func (e *policyFileError) Unwrap() error { return e.Err }

// parsePolicy decodes one YAML policy and validates it exactly as
// ProposePolicy will (wire validation plus CEL compilation of the
// condition), so a bad file is refused before any transaction.
func parsePolicy(path string, data []byte) (wire.Policy, error) {
	var f policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("is empty")
		}
		return wire.Policy{}, &policyFileError{Path: path, Err: err}
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return wire.Policy{}, &policyFileError{Path: path, Err: errors.New("holds more than one YAML document; write one policy per file")}
	}
	p := wire.Policy{
		ID: f.ID, Version: f.Version, Description: f.Description, Condition: f.Condition, Mode: f.Mode,
		ResponseApprovals: f.ResponseApprovals, EscalateLimited: f.EscalateLimited, Quorum: f.Quorum, Scope: f.Scope, Owner: f.Owner,
	}
	for _, a := range f.Actions {
		p.Actions = append(p.Actions, wire.Action{Type: a.Type, Params: a.Params})
	}
	if f.Limit != nil {
		p.Limit = &wire.RateLimit{Max: f.Limit.Max, WindowSeconds: f.Limit.WindowSeconds, Target: f.Limit.Target}
	}
	if err := policy.Validate(&p); err != nil {
		var ve *wire.ValidationError
		if errors.As(err, &ve) {
			return wire.Policy{}, &policyFileError{Path: path, Field: ve.Field, Err: err}
		}
		return wire.Policy{}, &policyFileError{Path: path, Err: err}
	}
	return p, nil
}

func loadPolicyFile(path string) (wire.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return wire.Policy{}, usageError{err}
	}
	p, err := parsePolicy(path, data)
	if err != nil {
		return wire.Policy{}, usageError{err}
	}
	return p, nil
}

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "propose, approve, revoke and inspect response policies on the ledger",
		Long: `Response policies are YAML files (see policies/ for examples) mapping to
the ledger's policy record: id, version, description, condition (CEL over
alert.*), mode (enforce or dry-run), actions (type and params), limit,
responseApprovals, escalateLimited (a response its limit or its
organisation's cap stops awaits approval instead of ending rate-limited),
quorum, scope, owner. An author proposes a version,
admins of the member organisations approve it, and it becomes active at the
quorum. A consortium-scoped policy (the default) needs a majority of the
members whatever its quorum; an org-scoped one (scope: org) acts only on the
proposing organisation's own alerts and may be enacted by it alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return usageError{errors.New("policy needs a subcommand")} },
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyProposeCmd(), policyRecords.approveCmd(), policyRecords.revokeCmd(),
		newPolicyListCmd(), policyRecords.showCmd(), newPolicyHistoryCmd())
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "check policy files offline, exactly as ProposePolicy will",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("policy validate needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, path := range args {
				p, err := loadPolicyFile(path)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s v%d, %s, %s)\n", path, p.ID, p.Version, p.Mode, actionsOf(p.Actions))
			}
			return nil
		},
	}
}

func newPolicyProposeCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "propose FILE",
		Short: "validate a policy file and propose it (author or admin)",
		Args:  argsExactly("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicyFile(args[0])
			if err != nil {
				return err
			}
			arg, err := json.Marshal(p)
			if err != nil {
				return err
			}
			return runOne(cmd, &l, submit(wire.ContractPolicies, wire.TxProposePolicy, string(arg)), l.printPolicy)
		},
	}
	l.register(cmd, "author")
	return cmd
}

func newPolicyListCmd() *cobra.Command {
	var l ledgerCmd
	var f wire.PolicyFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list policy versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, &l, evaluate(wire.ContractPolicies, wire.TxListPolicies, filterArg(f)), l.printPolicies)
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	cmd.Flags().StringVar(&f.ID, "id", "", "only this policy's versions")
	cmd.Flags().StringVar(&f.State, "state", "", "proposed, active, superseded or revoked")
	cmd.Flags().StringVar(&f.Owner, "owner", "", "owning organisation's MSP id")
	return cmd
}

func newPolicyHistoryCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "history ID VERSION",
		Short: "every committed change of a policy version, newest first",
		Args:  argsExactly("ID", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[1], false)
			if err != nil {
				return err
			}
			c := evaluate(wire.ContractPolicies, wire.TxGetPolicyHistory, args[0], strconv.FormatUint(uint64(v), 10))
			return runList(cmd, &l, c, func(w io.Writer, h []wire.HistoryEntry[wire.Policy]) error {
				if l.jsonOut {
					return printJSON(w, nonNil(h))
				}
				rows := make([][]string, 0, len(h))
				for _, e := range h {
					state, approvals, by := "(deleted)", "-", "-"
					if e.Value != nil {
						state, approvals = e.Value.State, approvalsOf(e.Value.Approvals)
						switch {
						case e.Value.EndedBy != nil && e.Value.EndedTx == e.TxID:
							by = e.Value.EndedBy.MSP
						case len(e.Value.Approvals) > 0 && e.Value.Approvals[len(e.Value.Approvals)-1].TxID == e.TxID:
							by = e.Value.Approvals[len(e.Value.Approvals)-1].MSP
						case e.Value.ProposedBy != nil && e.Value.ProposedTx == e.TxID:
							by = e.Value.ProposedBy.MSP
						}
					}
					rows = append(rows, []string{when(e.Timestamp), e.TxID, state, approvals, by})
				}
				return table(w, []string{"TIME", "TX", "STATE", "APPROVALS", "BY"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	return cmd
}

func (l *ledgerCmd) printPolicies(w io.Writer, ps []wire.Policy) error {
	if l.jsonOut {
		return printJSON(w, nonNil(ps))
	}
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{p.ID, strconv.FormatUint(uint64(p.Version), 10), p.State, p.Mode,
			approvalsOf(p.Approvals), actionsOf(p.Actions), orDash(p.Owner), clip(p.Condition, 60)})
	}
	return table(w, []string{"ID", "VERSION", "STATE", "MODE", "APPROVALS", "ACTIONS", "OWNER", "CONDITION"}, rows)
}

func (l *ledgerCmd) printPolicy(w io.Writer, p *wire.Policy) error {
	if l.jsonOut {
		return printJSON(w, p)
	}
	limit := "-"
	if p.Limit != nil {
		limit = fmt.Sprintf("%d per %ds per %s", p.Limit.Max, p.Limit.WindowSeconds, orDash(p.Limit.Target))
	}
	kv := [][2]string{
		{"id", p.ID}, {"version", strconv.FormatUint(uint64(p.Version), 10)}, {"state", p.State}, {"mode", p.Mode},
		{"owner", orDash(p.Owner)}, {"description", orDash(p.Description)}, {"condition", p.Condition},
		{"response approvals", strconv.Itoa(p.ResponseApprovals)}, {"quorum", strconv.Itoa(p.Quorum)},
		{"limit", limit}, {"approvals", approvalsOf(p.Approvals)}, {"proposed", when(p.ProposedAt) + " " + orDash(p.ProposedTx)},
	}
	if p.EscalateLimited {
		kv = append(kv, [2]string{"escalate limited", "yes: a limited response awaits approval"})
	}
	if !p.ActivatedAt.IsZero() {
		kv = append(kv, [2]string{"activated", when(p.ActivatedAt) + " " + p.ActivatedTx})
	}
	if !p.EndedAt.IsZero() {
		kv = append(kv, [2]string{"ended", when(p.EndedAt) + " " + p.EndedTx + " " + p.EndReason})
	}
	for i, a := range p.Actions {
		params, _ := json.Marshal(a.Params)
		kv = append(kv, [2]string{fmt.Sprintf("action %d", i), a.Type + " " + string(params)})
	}
	return fields(w, kv)
}

// nonNil makes an empty result print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// policyRecords are response policies for the shared versioned commands.
var policyRecords = versioned[wire.Policy]{cmd: "policy", noun: "policy", contract: wire.ContractPolicies,
	approve: wire.TxApprovePolicy, revoke: wire.TxRevokePolicy, get: wire.TxGetPolicy,
	print: func(l *ledgerCmd) func(io.Writer, *wire.Policy) error { return l.printPolicy }}
