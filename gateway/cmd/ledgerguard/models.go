package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "work with the detection models (models/<name>/<version>/): evaluate them, and register, approve, revoke and list their provenance on the ledger",
	}
	cmd.AddCommand(newModelsEvalCmd(), newModelsRegisterCmd(), newModelsApproveCmd(), newModelsRevokeCmd(), newModelsListCmd(), newModelsLabelsCmd(), newModelsRetrainCmd(), newModelsShadowReportCmd())
	return cmd
}

// modelDirs expands the arguments of register and approve: a model
// version directory (holding manifest.json) stands for itself; any other
// directory stands for every <name>/<version>/ below it that holds one,
// in name then version order.
func modelDirs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if _, err := os.Stat(filepath.Join(a, onnx.ManifestFile)); err == nil {
			out = append(out, a)
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*", "*", onnx.ManifestFile))
		if err != nil {
			return nil, usageError{err}
		}
		if len(found) == 0 {
			return nil, usageError{fmt.Errorf("%s holds no %s, neither directly nor as <name>/<version>/%s", a, onnx.ManifestFile, onnx.ManifestFile)}
		}
		slices.Sort(found)
		for _, f := range found {
			out = append(out, filepath.Dir(f))
		}
	}
	return out, nil
}

func newModelsRegisterCmd() *cobra.Command {
	var l ledgerCmd
	var quorum int
	cmd := &cobra.Command{
		Use:   "register DIR...",
		Short: "register model versions' provenance on the ledger (author or admin)",
		Long: `register reads each model's manifest.json (DIR is a model version directory
such as models/nsl-kdd-flow/1.0.0, or a folder of <name>/<version>/
directories such as models), checks that model.onnx hashes to the
manifest's sha256, and registers on the ledger its name, version, sha256,
the sha256 of its canonical feature spec, its training files' hashes and
its metrics. Re-registering identical content is a no-op, so the command
is safe to rerun. A gateway in strict mode serves the model once the
member organisations' admins approved it (ledgerguard models approve).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("models register needs at least one DIR")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if quorum < 0 {
				return usageError{fmt.Errorf("--quorum %d must not be negative", quorum)}
			}
			dirs, err := modelDirs(args)
			if err != nil {
				return err
			}
			var regs []wire.ModelRecord
			for _, d := range dirs {
				r, err := provenance.Registration(d)
				if err != nil {
					return usageError{err}
				}
				r.Quorum = quorum
				regs = append(regs, r)
			}
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				var got []wire.ModelRecord
				for _, r := range regs {
					arg, err := json.Marshal(r)
					if err != nil {
						return err
					}
					var rec wire.ModelRecord
					if err := callJSON(ctx, lc, &rec, submit(wire.ContractModels, wire.TxRegisterModel, string(arg))); err != nil {
						return err
					}
					got = append(got, rec)
				}
				return l.printModels(cmd.OutOrStdout(), got)
			})
		},
	}
	l.register(cmd, "author")
	cmd.Flags().IntVar(&quorum, "quorum", 0, "approvals needed (raised to a majority of the consortium's current members if below it; 0: that majority)")
	return cmd
}

func newModelsApproveCmd() *cobra.Command {
	var l ledgerCmd
	cmd := &cobra.Command{
		Use:   "approve (NAME VERSION | DIR...)",
		Short: "approve model versions for your organisation (admin)",
		Long: `approve records your organisation's approval of a registered model version:
name it (NAME VERSION), or give model directories as for register (their
manifests name the versions). Approving twice is a no-op.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("models approve needs NAME VERSION or at least one DIR")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			refs, err := modelRefsOf(args)
			if err != nil {
				return err
			}
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				var got []wire.ModelRecord
				for _, r := range refs {
					var rec wire.ModelRecord
					if err := callJSON(ctx, lc, &rec, submit(wire.ContractModels, wire.TxApproveModel, r[0], r[1])); err != nil {
						return err
					}
					got = append(got, rec)
				}
				return l.printModels(cmd.OutOrStdout(), got)
			})
		},
	}
	l.register(cmd, "")
	return cmd
}

// modelRefsOf returns (name, version) pairs: the two arguments when the
// first is not a directory, else the manifests of the directories.
func modelRefsOf(args []string) ([][2]string, error) {
	if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
		if len(args) != 2 {
			return nil, usageError{fmt.Errorf("%q is not a directory, so the arguments must be NAME VERSION", args[0])}
		}
		if err := wire.ValidateModelName(args[0], args[1]); err != nil {
			return nil, usageError{err}
		}
		return [][2]string{{args[0], args[1]}}, nil
	}
	dirs, err := modelDirs(args)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, d := range dirs {
		m, err := onnx.ReadManifestFile(filepath.Join(d, onnx.ManifestFile))
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, [2]string{m.Name, m.Version})
	}
	return out, nil
}

func newModelsRevokeCmd() *cobra.Command {
	var l ledgerCmd
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke NAME VERSION --reason TEXT",
		Short: "revoke a model version at once (admin of any member, or author of the registering organisation)",
		Long: `revoke ends a model version's approval with a reason, without waiting for a
quorum: gateways in strict mode unload it at their next ledger check
(detection.ledger_check_interval). Revocation is final for that version;
ship a fixed model as a new version.`,
		Args: argsExactly("NAME", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := wire.ValidateModelName(args[0], args[1]); err != nil {
				return usageError{err}
			}
			if err := requireReason(reason); err != nil {
				return err
			}
			return runOne(cmd, &l, submit(wire.ContractModels, wire.TxRevokeModel, args[0], args[1], reason), func(w io.Writer, rec *wire.ModelRecord) error {
				return l.printModels(w, []wire.ModelRecord{*rec})
			})
		},
	}
	l.register(cmd, "")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required, recorded on the ledger)")
	return cmd
}

func newModelsListCmd() *cobra.Command {
	var l ledgerCmd
	var f wire.ModelFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list model registrations on the ledger",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd, &l, evaluate(wire.ContractModels, wire.TxListModels, filterArg(f)), l.printModels)
		},
	}
	l.register(cmd, "auditor")
	l.registerList(cmd)
	cmd.Flags().StringVar(&f.Name, "name", "", "only this model's versions")
	cmd.Flags().StringVar(&f.State, "state", "", "registered, approved or revoked")
	cmd.Flags().StringVar(&f.Owner, "owner", "", "registering organisation's MSP id")
	return cmd
}

// printModels prints registrations as JSON (--json) or a table.
func (l *ledgerCmd) printModels(w io.Writer, ms []wire.ModelRecord) error {
	if l.jsonOut {
		if ms == nil {
			ms = []wire.ModelRecord{}
		}
		return printJSON(w, ms)
	}
	rows := make([][]string, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, []string{m.Name, m.Version, m.State, orDash(m.Owner),
			fmt.Sprintf("%s (%d/%d)", approvalsOf(m.Approvals), len(m.Approvals), m.Quorum), m.SHA256[:min(12, len(m.SHA256))],
			when(m.RegisteredAt), orDash(clip(m.RevokeReason, 40))})
	}
	return table(w, []string{"NAME", "VERSION", "STATE", "OWNER", "APPROVALS", "SHA256", "REGISTERED", "REVOKED_BECAUSE"}, rows)
}
