package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/modeleval"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// errBundleRefused is returned (exit status 1) when a bundle given to
// retrain does not verify; its findings, naming the failing events, are
// already printed.
var errBundleRefused = errors.New("refusing to train on an evidence bundle that fails verification")

// retrainCardFile is the model card retrain writes into the new version's
// directory (beside manifest.json and model.onnx).
const retrainCardFile = "RETRAIN.json"

// retrainCard is what retrain records about a new version: where its data
// came from and how it compares with its base on the fixed test splits.
type retrainCard struct {
	Model       string             `json:"model"`
	Version     string             `json:"version"`
	BaseVersion string             `json:"base_version"`
	CreatedAt   time.Time          `json:"created_at"`
	Bundles     []retrainBundle    `json:"bundles"`
	Labels      retrainLabels      `json:"labels"`
	Before      []modeleval.Result `json:"metrics_before,omitempty"`
	After       []modeleval.Result `json:"metrics_after,omitempty"`
	EvalNote    string             `json:"eval_note,omitempty"`
	Proposed    *wire.ModelRecord  `json:"proposed,omitempty"`
}

type retrainBundle struct {
	Path       string   `json:"path"`
	SHA256     string   `json:"sha256"`
	Events     int      `json:"events"`
	Batches    int      `json:"batches"`
	Gateway    string   `json:"gateway"`
	BatchRoots []string `json:"batch_roots"`
}

type retrainLabels struct {
	File          string `json:"file"`
	Count         int    `json:"count"`
	FromVerdicts  int    `json:"from_verdicts"`
	Benign        int    `json:"benign_from_false_positive"`
	Attack        int    `json:"attack_from_resolved"`
	FromFile      int    `json:"from_file"`
	FileSource    string `json:"file_source,omitempty"`
	DefaultLabel  string `json:"default_label,omitempty"`
	VerdictSource string `json:"verdict_source"`
}

// verifyBundles verifies every bundle offline before anything is trained;
// the first that fails is reported (its findings name the events) and
// refused.
func verifyBundles(ctx context.Context, stderr io.Writer, paths []string) ([]retrainBundle, error) {
	var out []retrainBundle
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, usageError{err}
		}
		v, err := evidence.VerifiedEvents(ctx, f, func(gateway.Event) error { return nil })
		f.Close()
		var nv *evidence.NotVerifiedError
		if errors.As(err, &nv) {
			fmt.Fprintf(stderr, "retrain: evidence bundle %s does not verify:\n", p)
			printReport(stderr, nv.Report, false)
			var evs []string
			for _, fd := range nv.Report.Findings {
				if fd.EventID != "" {
					evs = append(evs, fd.EventID)
				}
			}
			if len(evs) > 0 {
				return nil, fmt.Errorf("%w: %s (events %s)", errBundleRefused, p, strings.Join(evs, ", "))
			}
			return nil, fmt.Errorf("%w: %s", errBundleRefused, p)
		}
		if err != nil {
			return nil, fmt.Errorf("retrain: bundle %s: %w", p, err)
		}
		roots, err := bundleRoots(p)
		if err != nil {
			return nil, err
		}
		out = append(out, retrainBundle{Path: p, SHA256: v.SHA256, Events: v.Events, Batches: v.Report.Batches,
			Gateway: v.Report.GatewayMSP + "/" + v.Report.GatewayID, BatchRoots: roots})
	}
	return out, nil
}

// bundleRoots lists the Merkle roots of a (verified) bundle's batches.
func bundleRoots(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec, err := evidence.NewDecoder(f)
	if err != nil {
		return nil, err
	}
	var roots []string
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			return roots, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Batch != nil {
			roots = append(roots, rec.Batch.Batch.RootHash)
		}
	}
}

// mergeLabels adds the file's labels to the verdicts'; an event both
// label differently is an error (an analyst's verdict is not silently
// overridden).
func mergeLabels(verdicts, file map[string]string, fileName string) (map[string]string, error) {
	out := maps.Clone(verdicts)
	if out == nil {
		out = map[string]string{}
	}
	for id, l := range file {
		if prev, ok := out[id]; ok && prev != l {
			return nil, usageError{fmt.Errorf("%s labels event %s %q, but an analyst's verdict makes it %q", fileName, id, l, prev)}
		}
		out[id] = l
	}
	return out, nil
}

// evalDir evaluates the model in dir on its manifest's evaluation splits
// (the fixed test splits), through the gateway's scorer.
func evalDir(ctx context.Context, dir, dataDir string) ([]modeleval.Result, error) {
	m, err := onnx.Open(dir, onnx.WithMaxWait(-1))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var out []modeleval.Result
	for _, sp := range m.Manifest().Evaluation {
		r, err := modeleval.Split(ctx, m, sp, dataDir)
		if err != nil {
			return nil, fmt.Errorf("eval %s %s: %w", dir, sp.Split, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func newModelsRetrainCmd() *cobra.Command {
	var (
		l                                                    ledgerCmd
		bundles                                              []string
		version, labelsFile, defaultLabel, modelsDir, python string
		dataDir, lib                                         string
		propose, noVerdicts                                  bool
		quorum                                               int
	)
	cmd := &cobra.Command{
		Use:   "retrain MODEL --bundle B... --version V [--labels L] [--propose [--quorum N]]",
		Short: "retrain MODEL on verified evidence bundles and analysts' verdicts, optionally proposing the new version on the ledger",
		Long: `retrain builds a new version of MODEL only from authentic data:
  1. every --bundle is verified offline (as 'ledgerguard verify'); one that
     does not verify is refused (exit 1) naming the failing events, and
     nothing is trained;
  2. labels are the analysts' verdicts on MODEL's alerts read from the
     ledger ('models labels': false-positive = benign, resolved = attack,
     by event hash) plus --labels (an event labelled differently by both
     is refused), optionally --default-label for the bundles' other events;
  3. the pinned pipeline (models/train/from_bundle.py in the models venv,
     'make -C models venv') trains it with the base version's algorithm and
     features into models/MODEL/V/, which must not exist;
  4. the base and the new version are evaluated on the fixed test splits
     of the base's manifest (needs --data), and RETRAIN.json (the model
     card of this retraining: bundles by sha256 and batch roots, labels by
     count and source, metrics before and after) is written beside it;
  5. with --propose it is registered on the ledger (as 'models register'):
     gateways in strict mode run it in shadow until a quorum approves it.`,
		Args: argsExactly("MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			model := args[0]
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			stderr := cmd.ErrOrStderr()
			if len(bundles) == 0 {
				return usageError{errors.New("models retrain needs at least one --bundle")}
			}
			if err := wire.ValidateModelName(model, version); err != nil || version == "" {
				return usageError{fmt.Errorf("models retrain: --version: %v", err)}
			}
			if quorum < 0 || (quorum > 0 && !propose) {
				return usageError{errors.New("--quorum goes with --propose and must not be negative")}
			}
			m, baseDir, err := modelManifest(modelsDir, model)
			if err != nil {
				return err
			}
			if m.IsAnomaly() {
				// Verdicts label attacks; an anomaly model learns only what
				// benign looks like and is retrained with `make models`.
				return usageError{fmt.Errorf("%s is an anomaly model (trained on benign data only); models retrain retrains the supervised classifiers", model)}
			}
			if onnx.CompareVersions(version, m.Version) <= 0 {
				return usageError{fmt.Errorf("--version %s must be newer than %s's highest version %s", version, model, m.Version)}
			}
			out := filepath.Join(modelsDir, model, version)
			if _, err := os.Stat(out); err == nil {
				return usageError{fmt.Errorf("%s exists; choose a new --version", out)}
			}
			var fileLabels map[string]string
			if labelsFile != "" {
				f, err := os.Open(labelsFile)
				if err != nil {
					return usageError{err}
				}
				fileLabels, err = features.ReadEventLabels(f, labelsFile)
				f.Close()
				if err != nil {
					return usageError{err}
				}
			}

			// 1. Verify every bundle before anything else.
			verified, err := verifyBundles(ctx, stderr, bundles)
			if err != nil {
				return err
			}
			for _, b := range verified {
				fmt.Fprintf(stderr, "retrain: bundle %s verified: sha256 %s, %d events in %d batches of %s\n", b.Path, b.SHA256, b.Events, b.Batches, b.Gateway)
			}

			// 2. Labels: the ledger's verdicts plus the file's.
			var v verdictLabels
			source := "none (--no-verdicts)"
			if !noVerdicts {
				err := l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
					var err error
					v, err = ledgerVerdicts(ctx, lc, 100, model, m)
					return err
				})
				if err != nil {
					return err
				}
				reportVerdicts(stderr, model, v)
				source = "alerts:ListAlerts as " + l.lf.identity
			}
			labels, err := mergeLabels(v.Labels, fileLabels, labelsFile)
			if err != nil {
				return err
			}
			if len(labels) == 0 && defaultLabel == "" {
				return usageError{errors.New("models retrain: no labels: no verdicts on the ledger, no --labels and no --default-label")}
			}
			tmp, err := os.MkdirTemp("", ".ledgerguard-retrain-*")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			labelsPath := filepath.Join(tmp, "labels.csv")
			if err := durable.AtomicWrite(nil, labelsPath, func(w io.Writer) error { return writeLabels(w, labels) }); err != nil {
				return err
			}

			// 3. The pinned pipeline.
			absOut, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			absModels, err := filepath.Abs(modelsDir)
			if err != nil {
				return err
			}
			pyArgs := []string{"from_bundle.py", "--models", absModels, "--model", model, "--from", m.Version, "--version", version, "--out", absOut, "--labels", labelsPath}
			for _, b := range bundles {
				ab, err := filepath.Abs(b)
				if err != nil {
					return err
				}
				pyArgs = append(pyArgs, "--bundle", ab)
			}
			if defaultLabel != "" {
				pyArgs = append(pyArgs, "--default-label", defaultLabel)
			}
			py := exec.CommandContext(ctx, python, pyArgs...)
			py.Dir = filepath.Join(repoRoot(), "models", "train")
			self, err := os.Executable()
			if err != nil {
				return err
			}
			py.Env = append(os.Environ(), "LG_BIN="+self, "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
			py.Stdout, py.Stderr = stderr, stderr
			if err := py.Run(); err != nil {
				return fmt.Errorf("models retrain: pipeline %s %s: %w", python, strings.Join(pyArgs, " "), err)
			}
			if err := copyFile(labelsPath, filepath.Join(out, "labels.csv")); err != nil {
				return err
			}

			// 4. Metrics before and after on the fixed test splits.
			card := retrainCard{Model: model, Version: version, BaseVersion: m.Version, CreatedAt: time.Now().UTC(), Bundles: verified,
				Labels: retrainLabels{File: "labels.csv", Count: len(labels), FromVerdicts: len(v.Labels), Benign: v.Benign, Attack: v.Attack,
					FromFile: len(fileLabels), FileSource: labelsFile, DefaultLabel: defaultLabel, VerdictSource: source}}
			if _, err := os.Stat(dataDir); err != nil {
				card.EvalNote = fmt.Sprintf("not evaluated: data directory %s: %v", dataDir, err)
			} else if err := onnx.Init(lib); err != nil {
				card.EvalNote = fmt.Sprintf("not evaluated: %v", err)
			} else {
				if card.Before, err = evalDir(ctx, baseDir, dataDir); err == nil {
					card.After, err = evalDir(ctx, out, dataDir)
				}
				if err != nil {
					card.EvalNote = fmt.Sprintf("not evaluated: %v", err)
				}
			}
			if card.EvalNote != "" {
				fmt.Fprintf(stderr, "retrain: warning: %s\n", card.EvalNote)
			}
			for i := range card.After {
				if i < len(card.Before) {
					b, a := card.Before[i], card.After[i]
					fmt.Fprintf(stderr, "retrain: %s %s: accuracy %.4f -> %.4f, macro-F1 %.4f -> %.4f, FPR %.4f -> %.4f\n",
						a.Dataset, a.Split, b.Accuracy, a.Accuracy, b.MacroF1, a.MacroF1, b.FPR, a.FPR)
				}
			}
			writeCard := func() error {
				return durable.AtomicWrite(nil, filepath.Join(out, retrainCardFile), func(w io.Writer) error {
					enc := json.NewEncoder(w)
					enc.SetIndent("", " ")
					return enc.Encode(card)
				})
			}
			if err := writeCard(); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "retrain: wrote %s (%s)\n", out, retrainCardFile)

			// 5. Propose on the ledger.
			if !propose {
				return nil
			}
			reg, err := provenance.Registration(out)
			if err != nil {
				return err
			}
			reg.Quorum = quorum
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				arg, err := json.Marshal(reg)
				if err != nil {
					return err
				}
				var rec wire.ModelRecord
				if err := callJSON(ctx, lc, &rec, submit(wire.ContractModels, wire.TxRegisterModel, string(arg))); err != nil {
					return err
				}
				card.Proposed = &rec
				if err := writeCard(); err != nil {
					return err
				}
				return l.printModels(cmd.OutOrStdout(), []wire.ModelRecord{rec})
			})
		},
	}
	l.register(cmd, "author")
	f := cmd.Flags()
	f.StringArrayVar(&bundles, "bundle", nil, "evidence bundle from 'ledgerguard export' (repeat; each must verify)")
	f.StringVar(&version, "version", "", "the new version (newer than the highest on disk)")
	f.StringVar(&labelsFile, "labels", "", "more labels: CSV event_id,label or JSON (event id or event hash)")
	f.StringVar(&defaultLabel, "default-label", "", "label of the bundles' events no verdict or --labels covers (e.g. benign)")
	f.BoolVar(&noVerdicts, "no-verdicts", false, "do not read analysts' verdicts from the ledger")
	f.BoolVar(&propose, "propose", false, "register the new version on the ledger for approval by a quorum")
	f.IntVar(&quorum, "quorum", 0, "with --propose: approvals needed (raised to the consortium's majority)")
	f.StringVar(&modelsDir, "models-dir", filepath.Join(repoRoot(), "models"), "directory of <name>/<version>/ model directories")
	f.StringVar(&python, "python", filepath.Join(repoRoot(), "models", ".venv", "bin", "python"), "Python of the pinned training venv (make -C models venv)")
	f.StringVar(&dataDir, "data", defaultDataDir(), "data directory of the fixed test splits")
	f.StringVar(&lib, "lib", onnx.LibraryPath(repoRoot()), "ONNX Runtime shared library (env "+onnx.EnvLibrary+")")
	return cmd
}

// copyFile copies src to dst durably.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return durable.AtomicWrite(nil, dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}
