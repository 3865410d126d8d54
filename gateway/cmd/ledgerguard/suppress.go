package main

// The hygiene commands: `suppress` manages the consortium's hygiene rules
// (suppress and dedup kinds, proposed and approved like policies) and
// `caps` an organisation's blast-radius caps per action type.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// ruleFile is a hygiene rule as people write it in YAML: the JSON names of
// wire.HygieneRule, plus expiresIn (a Go duration counted from now, for
// suppress rules) as an alternative to expiresAt. Unknown keys are refused.
type ruleFile struct {
	ID            string `yaml:"id"`
	Version       uint32 `yaml:"version"`
	Kind          string `yaml:"kind"`
	Description   string `yaml:"description"`
	Condition     string `yaml:"condition"`
	Reason        string `yaml:"reason"`
	ExpiresAt     string `yaml:"expiresAt"`
	ExpiresIn     string `yaml:"expiresIn"`
	WindowSeconds int64  `yaml:"windowSeconds"`
	Quorum        int    `yaml:"quorum"`
	Scope         string `yaml:"scope"`
	Owner         string `yaml:"owner"`
}

// parseRule decodes one YAML hygiene rule and validates it as ProposeRule
// will (structure and CEL), resolving expiresIn against now.
func parseRule(path string, data []byte, now time.Time) (wire.HygieneRule, error) {
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("is empty")
		}
		return wire.HygieneRule{}, &policyFileError{Path: path, Err: err}
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return wire.HygieneRule{}, &policyFileError{Path: path, Err: errors.New("holds more than one YAML document; write one rule per file")}
	}
	r := wire.HygieneRule{ID: f.ID, Version: f.Version, Kind: f.Kind, Description: f.Description, Condition: f.Condition,
		Reason: f.Reason, WindowSeconds: f.WindowSeconds, Quorum: f.Quorum, Scope: f.Scope, Owner: f.Owner}
	switch {
	case f.ExpiresAt != "" && f.ExpiresIn != "":
		return r, &policyFileError{Path: path, Field: "expiresAt", Err: errors.New("give expiresAt or expiresIn, not both")}
	case f.ExpiresAt != "":
		t, err := wire.ParseTime(f.ExpiresAt)
		if err != nil {
			return r, &policyFileError{Path: path, Field: "expiresAt", Err: err}
		}
		r.ExpiresAt = t
	case f.ExpiresIn != "":
		d, err := time.ParseDuration(f.ExpiresIn)
		if err != nil || d <= 0 {
			return r, &policyFileError{Path: path, Field: "expiresIn", Err: fmt.Errorf("%q must be a positive duration such as 72h", f.ExpiresIn)}
		}
		r.ExpiresAt = wire.NewTime(now.Add(d).Truncate(time.Second))
	}
	err := r.Validate()
	if err == nil {
		_, err = policy.Compile(r.Condition)
	}
	if err != nil {
		var ve *wire.ValidationError
		if errors.As(err, &ve) {
			return r, &policyFileError{Path: path, Field: ve.Field, Err: err}
		}
		return r, &policyFileError{Path: path, Err: err}
	}
	return r, nil
}

func loadRuleFile(path string) (wire.HygieneRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return wire.HygieneRule{}, usageError{err}
	}
	r, err := parseRule(path, data, time.Now())
	if err != nil {
		return wire.HygieneRule{}, usageError{err}
	}
	return r, nil
}

func newSuppressCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suppress",
		Short: "propose, approve, revoke and inspect alert hygiene rules (suppression, deduplication)",
		Long: `Hygiene rules are YAML files mapping to the ledger's rule record: id,
version, kind (suppress or dedup), description, condition (CEL over alert.*,
as in policies), reason, expiresAt or expiresIn (suppress rules must
expire), windowSeconds (dedup rules), quorum, scope, owner. They are
proposed and approved exactly like policies: a consortium rule needs a
majority of the current members.

A suppress rule records the alerts it matches as "suppressed" (listed,
countable, citing the rule) and keeps response policies off them. A dedup
rule merges repeated detections of one organisation with the same detector,
category, asset and principal inside a window of event time into one alert
whose count and last-seen grow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("suppress needs a subcommand")}
		},
	}
	cmd.AddCommand(newSuppressValidateCmd(), newSuppressProposeCmd(), ruleRecords.approveCmd(), ruleRecords.revokeCmd(),
		newSuppressListCmd(), ruleRecords.showCmd(), newSuppressHistoryCmd())
	return cmd
}

func newSuppressValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "check rule files offline, as ProposeRule will",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("suppress validate needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, path := range args {
				r, err := loadRuleFile(path)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s v%d, %s)\n", path, r.ID, r.Version, r.Kind)
			}
			return nil
		},
	}
}

func newSuppressProposeCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "propose FILE",
		Short: "validate a rule file and propose it (author or admin)",
		Args:  argsExactly("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadRuleFile(args[0])
			if err != nil {
				return err
			}
			arg, err := json.Marshal(r)
			if err != nil {
				return err
			}
			return runOne(cmd, &l, submit(wire.ContractHygiene, wire.TxProposeHygieneRule, string(arg)), l.printRule)
		},
	}
	l.register(cmd, "author")
	return cmd
}

func newSuppressListCmd() *cobra.Command {
	var l ledgerCmd
	var f wire.HygieneRuleFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list rule versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, &l, evaluate(wire.ContractHygiene, wire.TxListHygieneRules, filterArg(f)), l.printRules)
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	cmd.Flags().StringVar(&f.ID, "id", "", "only this rule's versions")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "suppress or dedup")
	cmd.Flags().StringVar(&f.State, "state", "", "proposed, active, superseded or revoked")
	cmd.Flags().StringVar(&f.Owner, "owner", "", "owning organisation's MSP id")
	return cmd
}

func newSuppressHistoryCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "history ID VERSION",
		Short: "every committed change of a rule version, newest first",
		Args:  argsExactly("ID", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[1], false)
			if err != nil {
				return err
			}
			c := evaluate(wire.ContractHygiene, wire.TxGetHygieneRuleHistory, args[0], strconv.FormatUint(uint64(v), 10))
			return runList(cmd, &l, c, func(w io.Writer, h []wire.HistoryEntry[wire.HygieneRule]) error {
				if l.jsonOut {
					return printJSON(w, nonNil(h))
				}
				rows := make([][]string, 0, len(h))
				for _, e := range h {
					state, approvals := "(deleted)", "-"
					if e.Value != nil {
						state, approvals = e.Value.State, approvalsOf(e.Value.Approvals)
					}
					rows = append(rows, []string{when(e.Timestamp), e.TxID, state, approvals})
				}
				return table(w, []string{"TIME", "TX", "STATE", "APPROVALS"}, rows)
			})
		},
	}
	l.register(cmd, "")
	l.registerList(cmd)
	return cmd
}

// ruleSetting is a rule's kind-specific setting for tables.
func ruleSetting(r *wire.HygieneRule) string {
	if r.Kind == wire.RuleDedup {
		return fmt.Sprintf("window %ds", r.WindowSeconds)
	}
	return "until " + when(r.ExpiresAt)
}

func (l *ledgerCmd) printRules(w io.Writer, rs []wire.HygieneRule) error {
	if l.jsonOut {
		return printJSON(w, nonNil(rs))
	}
	rows := make([][]string, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		rows = append(rows, []string{r.ID, strconv.FormatUint(uint64(r.Version), 10), r.Kind, r.State, ruleSetting(r),
			approvalsOf(r.Approvals), orDash(r.Owner), clip(r.Condition, 60)})
	}
	return table(w, []string{"ID", "VERSION", "KIND", "STATE", "SETTING", "APPROVALS", "OWNER", "CONDITION"}, rows)
}

func (l *ledgerCmd) printRule(w io.Writer, r *wire.HygieneRule) error {
	if l.jsonOut {
		return printJSON(w, r)
	}
	kv := [][2]string{
		{"id", r.ID}, {"version", strconv.FormatUint(uint64(r.Version), 10)}, {"kind", r.Kind}, {"state", r.State},
		{"owner", orDash(r.Owner)}, {"scope", orDash(r.Scope)}, {"description", orDash(r.Description)}, {"condition", r.Condition},
		{"reason", orDash(r.Reason)}, {"setting", ruleSetting(r)}, {"quorum", strconv.Itoa(r.Quorum)},
		{"approvals", approvalsOf(r.Approvals)}, {"proposed", when(r.ProposedAt) + " " + orDash(r.ProposedTx)},
	}
	if r.ProposedBy != nil {
		kv = append(kv, [2]string{"proposed by", r.ProposedBy.MSP + " " + r.ProposedBy.Subject})
	}
	if !r.ActivatedAt.IsZero() {
		kv = append(kv, [2]string{"activated", when(r.ActivatedAt) + " " + r.ActivatedTx})
	}
	if !r.EndedAt.IsZero() {
		kv = append(kv, [2]string{"ended", when(r.EndedAt) + " " + r.EndedTx + " " + r.EndReason})
	}
	return fields(w, kv)
}

// capsMSP is the organisation whose caps a caps command reads or sets:
// --msp, else the client organisation of the connection profile.
func capsMSP(l *ledgerCmd, msp string) (string, error) {
	if msp != "" {
		return msp, nil
	}
	p, err := fabric.LoadProfile(l.lf.profile)
	if err != nil {
		return "", usageError{fmt.Errorf("--msp not given and the profile's organisation is unknown: %w", err)}
	}
	if org, ok := p.Organizations[p.Client.Organization]; ok && org.MSPID != "" {
		return org.MSPID, nil
	}
	return "", usageError{fmt.Errorf("--msp not given and profile %s names no client organisation MSP id", l.lf.profile)}
}

// parsePer parses --per: "hour", "day", "minute" or a Go duration of
// whole seconds.
func parsePer(s string) (int64, error) {
	switch s {
	case "minute":
		return 60, nil
	case "hour":
		return 3600, nil
	case "day":
		return 86400, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d%time.Second != 0 {
		return 0, usageError{fmt.Errorf("--per %q must be minute, hour, day or a duration of whole seconds (e.g. 15m)", s)}
	}
	return int64(d / time.Second), nil
}

func newCapsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "caps",
		Short: "show and set your organisation's blast-radius caps per action type",
		Long: `An organisation's caps bound how many responses carrying an action type
(isolate_host, block_ip, ...) the ledger creates for its alerts per window,
across all policies. A response beyond a cap ends rate-limited, or awaits
human approval when its policy sets escalateLimited. Only the
organisation's admins set its caps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return usageError{errors.New("caps needs a subcommand")} },
	}
	cmd.AddCommand(newCapsShowCmd(), newCapsSetCmd(), newCapsUnsetCmd())
	return cmd
}

func newCapsShowCmd() *cobra.Command {
	var l ledgerCmd
	var msp string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "show an organisation's caps (default: the profile's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := capsMSP(&l, msp)
			if err != nil {
				return err
			}
			return runOne(cmd, &l, evaluate(wire.ContractHygiene, wire.TxGetOrgCaps, m), l.printCaps)
		},
	}
	l.register(cmd, "")
	cmd.Flags().StringVar(&msp, "msp", "", "organisation MSP id (default: the profile's)")
	return cmd
}

// editCaps reads the organisation's caps, applies edit and writes them.
func editCaps(cmd *cobra.Command, l *ledgerCmd, msp string, edit func(c *wire.OrgCaps)) error {
	m, err := capsMSP(l, msp)
	if err != nil {
		return err
	}
	return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
		var c wire.OrgCaps
		if err := callJSON(ctx, lc, &c, evaluate(wire.ContractHygiene, wire.TxGetOrgCaps, m)); err != nil {
			return err
		}
		c.MSP, c.SetBy, c.SetAt, c.SetTx = m, nil, wire.Time{}, ""
		edit(&c)
		sort.Slice(c.Caps, func(i, j int) bool { return c.Caps[i].Action < c.Caps[j].Action })
		if err := c.Validate(); err != nil {
			return usageError{err}
		}
		arg, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		var got wire.OrgCaps
		if err := callJSON(ctx, lc, &got, submit(wire.ContractHygiene, wire.TxSetOrgCaps, string(arg))); err != nil {
			return err
		}
		return l.printCaps(cmd.OutOrStdout(), &got)
	})
}

func newCapsSetCmd() *cobra.Command {
	var l ledgerCmd
	var msp, per string
	cmd := &cobra.Command{
		Use:   "set ACTION N --per hour",
		Short: "cap ACTION at N responses per window for your organisation (admin)",
		Args:  argsExactly("ACTION", "N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 || n > wire.MaxOrgCapMax {
				return usageError{fmt.Errorf("N %q must be 0..%d", args[1], wire.MaxOrgCapMax)}
			}
			w, err := parsePer(per)
			if err != nil {
				return err
			}
			action := strings.TrimSpace(args[0])
			return editCaps(cmd, &l, msp, func(c *wire.OrgCaps) {
				kept := c.Caps[:0]
				for _, cp := range c.Caps {
					if cp.Action != action {
						kept = append(kept, cp)
					}
				}
				c.Caps = append(kept, wire.OrgCap{Action: action, Max: n, WindowSeconds: w})
			})
		},
	}
	l.register(cmd, "")
	cmd.Flags().StringVar(&msp, "msp", "", "your organisation's MSP id (default: the profile's)")
	cmd.Flags().StringVar(&per, "per", "hour", "window: minute, hour, day or a duration (15m)")
	return cmd
}

func newCapsUnsetCmd() *cobra.Command {
	var l ledgerCmd
	var msp string
	cmd := &cobra.Command{
		Use:   "unset ACTION",
		Short: "remove your organisation's cap on ACTION (admin)",
		Args:  argsExactly("ACTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return editCaps(cmd, &l, msp, func(c *wire.OrgCaps) {
				kept := c.Caps[:0]
				for _, cp := range c.Caps {
					if cp.Action != args[0] {
						kept = append(kept, cp)
					}
				}
				c.Caps = kept
			})
		},
	}
	l.register(cmd, "")
	cmd.Flags().StringVar(&msp, "msp", "", "your organisation's MSP id (default: the profile's)")
	return cmd
}

func (l *ledgerCmd) printCaps(w io.Writer, c *wire.OrgCaps) error {
	if l.jsonOut {
		if c.Caps == nil {
			c.Caps = []wire.OrgCap{}
		}
		return printJSON(w, c)
	}
	rows := make([][]string, 0, len(c.Caps))
	for _, cp := range c.Caps {
		rows = append(rows, []string{c.MSP, cp.Action, strconv.Itoa(cp.Max), (time.Duration(cp.WindowSeconds) * time.Second).String()})
	}
	if err := table(w, []string{"MSP", "ACTION", "MAX", "PER"}, rows); err != nil {
		return err
	}
	if c.SetBy != nil {
		_, err := fmt.Fprintf(w, "set %s by %s (%s)\n", when(c.SetAt), c.SetBy.MSP, c.SetTx)
		return err
	}
	return nil
}

// ruleRecords are hygiene rules for the shared versioned commands.
var ruleRecords = versioned[wire.HygieneRule]{cmd: "suppress", noun: "rule", contract: wire.ContractHygiene,
	approve: wire.TxApproveHygieneRule, revoke: wire.TxRevokeHygieneRule, get: wire.TxGetHygieneRule,
	print: func(l *ledgerCmd) func(io.Writer, *wire.HygieneRule) error { return l.printRule }}
