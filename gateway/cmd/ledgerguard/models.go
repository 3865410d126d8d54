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
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "work with the detection models (models/<name>/<version>/): evaluate them, and register, approve, revoke and list their provenance on the ledger",
	}
	cmd.AddCommand(newModelsEvalCmd(), newModelsRegisterCmd(), newModelsApproveCmd(), newModelsRevokeCmd(), newModelsListCmd())
	return cmd
}

// EvalResult is one line of `ledgerguard models eval --json`: one model on
// one test split, scored through the gateway's own feature engine and ONNX
// scorer.
type EvalResult struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Dataset string `json:"dataset"`
	Split   string `json:"split"`
	N       int    `json:"n"`
	// Accuracy, FPR and TPR are binary (benign vs any attack label) at the
	// manifest threshold; ROCAUC is the binary score's ROC AUC (null when
	// the split has one class only); MacroF1 is over the model's labels
	// (multi-class where the model is).
	Accuracy float64  `json:"accuracy"`
	MacroF1  float64  `json:"macro_f1"`
	ROCAUC   *float64 `json:"roc_auc"`
	FPR      float64  `json:"fpr"`
	TPR      float64  `json:"tpr"`
	// PrecisionAtBaseRate is the precision the TPR and FPR imply when one
	// event in 1,000 is an attack (realistic for SIEM traffic).
	PrecisionAtBaseRate float64             `json:"precision_at_base_rate_0.001"`
	Threshold           float64             `json:"threshold"`
	PerClass            map[string]PerClass `json:"per_class"`
	// PerGroup is the flagged rate per reporting group (e.g. attack
	// category or held-out family): the detection rate for attack groups,
	// the false-positive rate for benign ones.
	PerGroup  map[string]GroupRate `json:"per_group,omitempty"`
	Note      string               `json:"note,omitempty"`
	NsPerRow  float64              `json:"ns_per_event"`
	ModelSHA  string               `json:"sha256"`
	ORTVerson string               `json:"onnxruntime"`
}

// PerClass is precision, recall and F1 of one label.
type PerClass struct {
	Support   int     `json:"support"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// GroupRate is how many rows of a group were flagged.
type GroupRate struct {
	N       int     `json:"n"`
	Flagged float64 `json:"flagged_rate"`
}

func newModelsEvalCmd() *cobra.Command {
	var (
		modelsDir, dataDir, lib, only string
		asJSON                        bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "evaluate the committed models on their test splits through the gateway's scorer",
		Long: `eval loads every model under --models (the latest version of each), replays
each of its evaluation splits (listed in its manifest) as gateway events
through the same feature engine and ONNX Runtime scorer the gateway serves
with, and prints accuracy, macro-F1, ROC AUC, FPR and per-class figures.
Datasets are read from --data (default $LEDGERGUARD_DATA_DIR, else
../shared/data beside the repository).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := onnx.Init(lib); err != nil {
				return err
			}
			if _, err := os.Stat(dataDir); err != nil {
				return fmt.Errorf("models eval: data directory: %w (set --data or %s)", err, envDataDir)
			}
			reg, err := onnx.NewRegistry(ctx, modelsDir, onnx.WithMaxWait(-1))
			if err != nil {
				return err
			}
			defer reg.Close()
			var results []EvalResult
			for _, m := range reg.Models() {
				if only != "" && m.Manifest().Name != only {
					continue
				}
				for _, sp := range m.Manifest().Evaluation {
					r, err := evalSplit(ctx, m, sp, dataDir)
					if err != nil {
						return fmt.Errorf("models eval %s %s: %w", m.Manifest().Name, sp.Split, err)
					}
					results = append(results, r)
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, r := range results {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			printEval(cmd.OutOrStdout(), results)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelsDir, "models", filepath.Join(repoRoot(), "models"), "models directory")
	f.StringVar(&dataDir, "data", defaultDataDir(), "data directory")
	f.StringVar(&lib, "lib", onnx.LibraryPath(repoRoot()), "ONNX Runtime shared library (env "+onnx.EnvLibrary+")")
	f.StringVar(&only, "model", "", "evaluate only this model")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per model and split")
	return cmd
}

// evalSplit replays a split through the model in batches of events, in
// split order (so window features see the stream as the gateway would).
func evalSplit(ctx context.Context, m *onnx.Model, sp features.Split, dataDir string) (EvalResult, error) {
	man := m.Manifest()
	m.Engine().Reset()
	var (
		batch   []gateway.Event
		truth   []string
		groups  []string
		preds   []detect.Result
		elapsed time.Duration
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		t0 := time.Now()
		res, err := m.Detect(ctx, batch)
		elapsed += time.Since(t0)
		if err != nil {
			return err
		}
		if len(res) != len(batch) {
			return fmt.Errorf("%d results for %d events", len(res), len(batch))
		}
		preds = append(preds, res...)
		batch = batch[:0]
		return nil
	}
	err := features.ReadSplit(ctx, dataDir, sp, man.Datasets, logDecoders(dataDir), func(_ features.FileRef, row features.Row) error {
		if !man.Applies(&row.Event) {
			return nil
		}
		batch = append(batch, row.Event)
		truth = append(truth, row.Label)
		groups = append(groups, row.Group)
		if len(batch) == 4096 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return EvalResult{}, err
	}
	r := scoreResults(man, truth, groups, preds)
	r.Dataset, r.Split, r.Note = sp.Dataset, sp.Split, sp.Note
	if r.N > 0 {
		r.NsPerRow = float64(elapsed.Nanoseconds()) / float64(r.N)
	}
	r.ORTVerson = onnx.Version()
	return r, nil
}

// scoreResults computes the metrics of EvalResult from true labels and
// the detector's results.
func scoreResults(man *onnx.Manifest, truth, groups []string, preds []detect.Result) EvalResult {
	r := EvalResult{Model: man.Name, Version: man.Version, N: len(truth), Threshold: man.Threshold,
		ModelSHA: man.Model.SHA256, PerClass: map[string]PerClass{}, PerGroup: map[string]GroupRate{}}
	var tp, fp, tn, fn int
	pos := make([]bool, len(truth))
	scores := make([]float64, len(truth))
	tpC, fpC, fnC, supC := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	gN, gF := map[string]int{}, map[string]int{}
	for i, t := range truth {
		p := preds[i]
		pos[i] = t != man.Benign
		scores[i] = p.Score
		switch {
		case pos[i] && p.Flagged:
			tp++
		case pos[i]:
			fn++
		case p.Flagged:
			fp++
		default:
			tn++
		}
		supC[t]++
		if p.Label == t {
			tpC[t]++
		} else {
			fpC[p.Label]++
			fnC[t]++
		}
		gN[groups[i]]++
		if p.Flagged {
			gF[groups[i]]++
		}
	}
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	r.Accuracy = div(float64(tp+tn), float64(len(truth)))
	r.FPR = div(float64(fp), float64(fp+tn))
	r.TPR = div(float64(tp), float64(tp+fn))
	r.PrecisionAtBaseRate = div(r.TPR*0.001, r.TPR*0.001+r.FPR*0.999)
	if auc, ok := rocAUC(pos, scores); ok {
		r.ROCAUC = &auc
	}
	// Macro-F1 over the labels that occur in the truth or the predictions.
	labels := map[string]bool{}
	for l := range supC {
		labels[l] = true
	}
	for l := range fpC {
		labels[l] = true
	}
	var f1sum float64
	for l := range labels {
		prec := div(float64(tpC[l]), float64(tpC[l]+fpC[l]))
		rec := div(float64(tpC[l]), float64(tpC[l]+fnC[l]))
		f1 := div(2*prec*rec, prec+rec)
		f1sum += f1
		r.PerClass[l] = PerClass{Support: supC[l], Precision: prec, Recall: rec, F1: f1}
	}
	r.MacroF1 = div(f1sum, float64(len(labels)))
	for g, n := range gN {
		r.PerGroup[g] = GroupRate{N: n, Flagged: div(float64(gF[g]), float64(n))}
	}
	return r
}

// rocAUC is the Mann–Whitney estimate of the ROC AUC (ties count half).
func rocAUC(pos []bool, score []float64) (float64, bool) {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var nPos, nNeg float64
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks are 1-based
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				rankSum += avg
				nPos++
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0, false
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg), true
}

func printEval(w io.Writer, rs []EvalResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tDATASET\tSPLIT\tN\tACCURACY\tMACRO_F1\tROC_AUC\tFPR\tTPR\tPREC@0.1%\tNS/EVENT")
	for _, r := range rs {
		auc := "n/a"
		if r.ROCAUC != nil {
			auc = fmt.Sprintf("%.4f", *r.ROCAUC)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.4f\t%.4f\t%s\t%.4f\t%.4f\t%.3f\t%.0f\n",
			r.Model, r.Dataset, r.Split, r.N, r.Accuracy, r.MacroF1, auc, r.FPR, r.TPR, r.PrecisionAtBaseRate, r.NsPerRow)
	}
	tw.Flush()
	for _, r := range rs {
		fmt.Fprintf(w, "\n%s %s/%s per class:\n", r.Model, r.Dataset, r.Split)
		keys := make([]string, 0, len(r.PerClass))
		for k := range r.PerClass {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c := r.PerClass[k]
			fmt.Fprintf(w, "  %-28s n=%-6d precision=%.3f recall=%.3f f1=%.3f\n", k, c.Support, c.Precision, c.Recall, c.F1)
		}
		keys = keys[:0]
		for k := range r.PerGroup {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			g := r.PerGroup[k]
			fmt.Fprintf(w, "  group %-22s n=%-6d flagged=%.3f\n", k, g.N, g.Flagged)
		}
	}
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

// registrationOf builds the ledger registration of the model in dir from
// its manifest, after checking that model.onnx hashes to the manifest's
// sha256 (so what is registered is the file on disk): name, version,
// sha256, the feature spec's hash (provenance.FeaturesSHA256, the same
// function the gateway checks with), the training files with their
// hashes, and the manifest's metrics flattened to numbers.
func registrationOf(dir string) (wire.ModelRecord, error) {
	m, _, err := onnx.LoadManifest(dir)
	if err != nil {
		return wire.ModelRecord{}, err
	}
	fh, err := provenance.FeaturesSHA256(m.Features)
	if err != nil {
		return wire.ModelRecord{}, err
	}
	r := wire.ModelRecord{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh,
		Description: clipBytes(m.Description, 1024)}
	files := m.Training.Files
	if len(files) == 0 {
		files = m.Training.Train.Files
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Path] {
			continue
		}
		if f.SHA256 == "" {
			return wire.ModelRecord{}, fmt.Errorf("model %s: training file %s has no sha256 in the manifest's training section", dir, f.Path)
		}
		seen[f.Path] = true
		r.TrainingData = append(r.TrainingData, wire.DataFile{Path: f.Path, SHA256: f.SHA256})
	}
	slices.SortFunc(r.TrainingData, func(a, b wire.DataFile) int { return strings.Compare(a.Path, b.Path) })
	if r.Metrics, err = manifestMetrics(m.Metrics); err != nil {
		return wire.ModelRecord{}, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := r.Validate(); err != nil {
		return wire.ModelRecord{}, fmt.Errorf("model %s: %w", dir, err)
	}
	return r, nil
}

// manifestMetrics flattens a manifest's metrics to the ledger's flat map:
// each entry of "test" (a list of evaluation results) contributes
// test.<dataset>.<split>.<metric>, any other object <section>.<metric>,
// keeping top-level numbers only (per-class tables stay in the manifest,
// which the registered sha256s pin anyway).
func manifestMetrics(m map[string]any) (map[string]float64, error) {
	out := map[string]float64{}
	add := func(prefix string, obj map[string]any) {
		for k, v := range obj {
			if f, ok := v.(float64); ok {
				out[prefix+"."+k] = f
			}
		}
	}
	for section, v := range m {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				obj, ok := e.(map[string]any)
				if !ok {
					continue
				}
				ds, _ := obj["dataset"].(string)
				sp, _ := obj["split"].(string)
				add(strings.Join([]string{section, ds, sp}, "."), obj)
			}
		case map[string]any:
			add(section, v)
		}
	}
	if len(out) > wire.MaxModelMetrics {
		return nil, fmt.Errorf("the manifest has %d numeric metrics, the ledger keeps at most %d", len(out), wire.MaxModelMetrics)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
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
				r, err := registrationOf(d)
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
					if err := submitJSON(ctx, lc, &rec, "models", "RegisterModel", string(arg)); err != nil {
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
					if err := submitJSON(ctx, lc, &rec, "models", "ApproveModel", r[0], r[1]); err != nil {
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
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				var rec wire.ModelRecord
				if err := submitJSON(ctx, lc, &rec, "models", "RevokeModel", args[0], args[1], reason); err != nil {
					return err
				}
				return l.printModels(cmd.OutOrStdout(), []wire.ModelRecord{rec})
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
			filter := ""
			if f != (wire.ModelFilter{}) {
				b, _ := json.Marshal(f)
				filter = string(b)
			}
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				ms, err := collect[wire.ModelRecord](ctx, lc, &l, "models", "ListModels", filter)
				if err != nil {
					return err
				}
				return l.printModels(cmd.OutOrStdout(), ms)
			})
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
