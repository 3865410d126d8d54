// Package modeleval measures detection models the way the gateway serves
// them: it replays a model's evaluation splits as gateway events through
// the model's own feature engine and ONNX Runtime session (gateway/onnx),
// and scores the verdicts against the datasets' labels: binary accuracy,
// FPR, TPR and precision at a 0.1% base rate at the manifest threshold,
// ROC AUC of the score, macro-F1 and per-class figures over the model's
// labels, and flagged rates per reporting group; for zero-day splits (those
// naming the attack families held out of training) also the detection rate
// at a fixed FPR of 0.1 % and 1 %.
//
// Result's JSON shape is the one `ledgerguard models eval --json` prints and
// manifests record under their test metrics, so it changes only with them.
package modeleval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/trainset"
)

// batchSize is how many events Split scores per call, as the gateway
// micro-batches them.
const batchSize = 4096

// Result is one model on one test split, scored through the gateway's own
// feature engine and ONNX scorer. Its JSON encoding is one line of
// `ledgerguard models eval --json`, and the shape of a manifest's test
// metrics: field names and order are a format, not an implementation
// detail.
type Result struct {
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
	PerGroup   map[string]GroupRate `json:"per_group,omitempty"`
	Note       string               `json:"note,omitempty"`
	NsPerRow   float64              `json:"ns_per_event"`
	ModelSHA   string               `json:"sha256"`
	ORTVersion string               `json:"onnxruntime"`

	// HeldOut names the attack families absent from training when the
	// split is a zero-day test (features.Split.HeldOut); only then are the
	// detection rates at a fixed FPR reported: the share of attack rows
	// scored above the score that flags at most 0.1 % (1 %) of the split's
	// benign rows. They are points of the test ROC curve, not thresholds
	// the model serves with (that one is chosen on training data).
	HeldOut []string `json:"held_out,omitempty"`
	DR001   *float64 `json:"detection_rate_at_fpr_0.001,omitempty"`
	DR01    *float64 `json:"detection_rate_at_fpr_0.01,omitempty"`
	// AlertsPerDay is how many alerts a day the served threshold raises at
	// 10,000 events/s when one event in 1,000 is an attack like this
	// split's: 864e6 × (0.999 FPR + 0.001 TPR). Absent when the split lacks
	// benign or attack rows.
	AlertsPerDay *float64 `json:"alerts_per_day_at_10k_eps,omitempty"`
}

// EventsPerDay is 10,000 events/s for a day, the load AlertsPerDay assumes.
const EventsPerDay = 10_000 * 86_400

// DetectionRateAtFPR is the share of positives whose score is strictly
// above the score that at most fpr of the negatives exceed (so the FPR it
// stands for is at most fpr, ties counted against detection). It is false
// when pos holds one class only.
func DetectionRateAtFPR(pos []bool, score []float64, fpr float64) (float64, bool) {
	var neg []float64
	nPos := 0
	for i, p := range pos {
		if p {
			nPos++
		} else {
			neg = append(neg, score[i])
		}
	}
	if nPos == 0 || len(neg) == 0 {
		return 0, false
	}
	slices.Sort(neg)
	k := int(math.Floor(fpr * float64(len(neg)))) // negatives allowed above t
	t := neg[len(neg)-1-min(k, len(neg)-1)]
	if k >= len(neg) {
		t = math.Inf(-1)
	}
	hit := 0
	for i, p := range pos {
		if p && score[i] > t {
			hit++
		}
	}
	return float64(hit) / float64(nPos), true
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

// Split replays an evaluation split (its files under dataDir) through the
// model in batches of events, in split order, so window features see the
// stream as the gateway would; the lines of log datasets are decoded by the
// gateway's ingest normaliser (trainset.LogDecoders). It resets the model's
// feature engine first, so it must not run while m serves live traffic.
// Events the manifest does not apply to are skipped.
func Split(ctx context.Context, m *onnx.Model, sp features.Split, dataDir string) (Result, error) {
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
	err := features.ReadSplit(ctx, dataDir, sp, man.Datasets, trainset.LogDecoders(dataDir), func(_ features.FileRef, row features.Row) error {
		if !man.Applies(&row.Event) {
			return nil
		}
		batch = append(batch, row.Event)
		truth = append(truth, row.Label)
		groups = append(groups, row.Group)
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return Result{}, err
	}
	r := Score(man, truth, groups, preds)
	r.Dataset, r.Split, r.Note = sp.Dataset, sp.Split, sp.Note
	if len(sp.HeldOut) > 0 {
		r.ZeroDay(sp.HeldOut, man.Benign, truth, preds)
	}
	if r.N > 0 {
		r.NsPerRow = float64(elapsed.Nanoseconds()) / float64(r.N)
	}
	r.ORTVersion = onnx.Version()
	return r, nil
}

// Score computes the metrics of a Result from the true labels, the
// reporting groups and the detector's results, all index-aligned; it
// requires len(groups) and len(preds) to be at least len(truth). Model,
// version, threshold and sha256 come from man; the caller fills dataset,
// split, note and timing.
func Score(man *onnx.Manifest, truth, groups []string, preds []detect.Result) Result {
	r := Result{Model: man.Name, Version: man.Version, N: len(truth), Threshold: man.Threshold,
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
	if auc, ok := ROCAUC(pos, scores); ok {
		r.ROCAUC = &auc
		apd := EventsPerDay * (0.999*r.FPR + 0.001*r.TPR)
		r.AlertsPerDay = &apd
	}
	// Macro-F1 over the labels that occur in the truth or the predictions.
	labels := map[string]bool{}
	for l := range supC {
		labels[l] = true
	}
	for l := range fpC {
		labels[l] = true
	}
	// Summed in label order: floating-point addition is not associative,
	// so map order would change macro-F1's last digit from run to run.
	var f1sum float64
	for _, l := range slices.Sorted(maps.Keys(labels)) {
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

// ZeroDay records heldOut and fills the detection rates at FPR 0.1 % and
// 1 % from the true labels and the results (index-aligned, as for Score).
func (r *Result) ZeroDay(heldOut []string, benign string, truth []string, preds []detect.Result) {
	r.HeldOut = heldOut
	pos := make([]bool, len(truth))
	scores := make([]float64, len(truth))
	for i, t := range truth {
		pos[i], scores[i] = t != benign, preds[i].Score
	}
	if dr, ok := DetectionRateAtFPR(pos, scores, 0.001); ok {
		r.DR001 = &dr
	}
	if dr, ok := DetectionRateAtFPR(pos, scores, 0.01); ok {
		r.DR01 = &dr
	}
}

// ROCAUC is the Mann–Whitney estimate of the ROC AUC of score against the
// positives pos (index-aligned; ties count half). It is false when pos
// holds one class only, where the AUC is undefined.
func ROCAUC(pos []bool, score []float64) (float64, bool) {
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

// Print writes results as people read them: a table of the headline
// metrics, then each result's per-class and per-group figures in name
// order.
func Print(w io.Writer, rs []Result) {
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
		if r.DR001 != nil && r.DR01 != nil {
			fmt.Fprintf(w, "  zero-day (held out: %s): detection rate %.3f at FPR 0.1%%, %.3f at FPR 1%%\n", strings.Join(r.HeldOut, ", "), *r.DR001, *r.DR01)
		}
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

// WriteJSON writes each result as one JSON object per line.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
