"""nsl-kdd-flow 1.1.0: the 1.0.0 classifier and the benign-only autoencoder
of nsl-kdd-flow-anomaly in one ONNX graph.

Why: KDDTest+ holds 17 attack types absent from KDDTrain+; a classifier of
known classes calls most of them normal, while the autoencoder (trained on
normal rows only) finds many of them unlike normal traffic. The graph
outputs six probabilities:
  P(normal)  = p_normal * (1 - s)      the classifier says normal AND the AE agrees
  P(anomaly) = p_normal * s            the classifier says normal, the AE does not
  P(k)       = p_k  for DoS, Probe, R2L, U2R
They sum to 1, and score = 1 - P(normal) = 1 - p_normal (1 - s), a noisy-OR
of the two detectors. An event flagged while the classifier sees no known
class is labelled "anomaly" (alert category "anomaly").

Threshold: balanced accuracy on the same novelty validation split as 1.0.0
(20% random KDDTrain+ rows plus every row of six attack types, held out of
a validation classifier and a validation autoencoder); no test row is used.
"""
import os

import numpy as np

import anomaly as A
import nslkdd as base
from common import (DATA, MODELS, SEED, binary_report, draft_path, features, libs, log,
                    model_section, sha256_file, threshold_balanced, write_json)

NAME, VERSION = "nsl-kdd-flow", "1.1.0"
HP = {"hidden": (64, 32), "alpha": 1e-3, "epochs": 30}
AE = {"hidden": (32, 8, 32), "epochs": 40, "max_rows": 30000}


def fit_ae(Xn, rng, hp=AE):
    """Autoencoder on benign rows Xn as anomaly.py fits it: 80% fit (at most
    max_rows), 20% calibrate c (p99 of their error)."""
    cal = rng.rand(len(Xn)) < 0.2
    idx = np.where(~cal)[0]
    if len(idx) > hp["max_rows"]:
        idx = np.sort(rng.choice(idx, hp["max_rows"], replace=False))
    mean = Xn[idx].mean(0).astype(np.float64)
    scale = np.maximum(Xn[idx].std(0), A.SCALE_FLOOR).astype(np.float64)
    ae = A.fit_ae(A.standardise(Xn[idx], mean, scale), hp)
    c = float(np.quantile(A.recon_error(ae, A.standardise(Xn[cal], mean, scale)), 0.99))
    return ae, mean, scale, c, len(idx)


def ae_score(ae, mean, scale, c, X):
    e = A.recon_error(ae, A.standardise(X, mean, scale))
    return e / (e + c)


def fused(clf, ae, mean, scale, c, X):
    p = clf.predict_proba(X)
    s = ae_score(ae, mean, scale, c, X)
    return np.c_[p[:, :1] * (1 - s[:, None]), p[:, 1:], p[:, :1] * s[:, None]]


def build_onnx(clf, ae, mean, scale, c, n, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    sc, mlp = clf.steps[0][1], clf.steps[1][1]
    f32 = lambda v: np.asarray(v, np.float32)
    inits = [numpy_helper.from_array(f32(v), k) for k, v in [
        ("mean", mean), ("scale", scale), ("lo", np.float32(-A.CLIP)), ("hi", np.float32(A.CLIP)),
        ("c", [c]), ("one", [1.0]), ("cmean", sc.mean_), ("cscale", sc.scale_)]]
    # Slice starts, ends and axes are int64.
    inits += [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in
              [("s0", [0]), ("s1", [1]), ("s5", [5]), ("ax1", [1])]]
    nodes = []

    def dense(prefix, h, coefs, intercepts, last_act):
        nonlocal inits, nodes
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            inits += [numpy_helper.from_array(f32(W), f"{prefix}W{i}"), numpy_helper.from_array(f32(b), f"{prefix}b{i}")]
            nodes += [helper.make_node("MatMul", [h, f"{prefix}W{i}"], [f"{prefix}m{i}"]),
                      helper.make_node("Add", [f"{prefix}m{i}", f"{prefix}b{i}"], [f"{prefix}a{i}"])]
            h = f"{prefix}a{i}"
            if i < len(coefs) - 1:
                nodes.append(helper.make_node("Relu", [h], [f"{prefix}r{i}"]))
                h = f"{prefix}r{i}"
        if last_act:
            nodes.append(helper.make_node(last_act, [h], [f"{prefix}out"], axis=1))
            h = f"{prefix}out"
        return h

    # Classifier branch: StandardScaler then the MLP with softmax.
    nodes += [helper.make_node("Sub", ["input", "cmean"], ["cxc"]),
              helper.make_node("Div", ["cxc", "cscale"], ["cz"])]
    p = dense("c", "cz", mlp.coefs_, mlp.intercepts_, "Softmax")
    # Autoencoder branch.
    nodes += [helper.make_node("Sub", ["input", "mean"], ["xc"]),
              helper.make_node("Div", ["xc", "scale"], ["zs"]),
              helper.make_node("Clip", ["zs", "lo", "hi"], ["z"])]
    r = dense("a", "z", ae.coefs_, ae.intercepts_, None)
    nodes += [helper.make_node("Sub", ["z", r], ["d"]),
              helper.make_node("Mul", ["d", "d"], ["d2"]),
              helper.make_node("ReduceMean", ["d2"], ["err"], axes=[1], keepdims=1),
              helper.make_node("Add", ["err", "c"], ["den"]),
              helper.make_node("Div", ["err", "den"], ["s"]),
              helper.make_node("Sub", ["one", "s"], ["ns"]),
              # Fuse: [p0 (1-s), p1..p4, p0 s].
              helper.make_node("Slice", [p, "s0", "s1", "ax1"], ["p0"]),
              helper.make_node("Slice", [p, "s1", "s5", "ax1"], ["pk"]),
              helper.make_node("Mul", ["p0", "ns"], ["pn"]),
              helper.make_node("Mul", ["p0", "s"], ["pa"]),
              helper.make_node("Concat", ["pn", "pk", "pa"], ["probabilities"], axis=1)]
    g = helper.make_graph(nodes, "ledgerguard",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 6])], inits)
    onx = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)], producer_name="ledgerguard")
    onx.ir_version = 8
    onnx.checker.check_model(onx)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def main():
    d = base.draft()
    d["version"] = VERSION
    d["labels"] = d["labels"] + ["anomaly"]
    d["categories"]["anomaly"] = {"id": "anomaly", "name": "Anomaly: no known class, unlike normal training traffic"}
    d["description"] = ("Flow classifier on NSL-KDD's 41 connection features (normal vs DoS, Probe, R2L, U2R) fused with "
                        "a benign-only autoencoder: events the classifier calls normal but the autoencoder finds unlike "
                        "normal traffic are labelled anomaly; score = 1 - P(normal) = 1 - p_normal (1 - s_autoencoder).")
    dp = draft_path(NAME + "-" + VERSION)
    write_json(dp, dict(d, labels=base.draft()["labels"]))
    meta, X, names = features(dp, "train")
    raw = np.array(meta["raw_label"])
    labels = base.draft()["labels"]
    y = np.array([labels.index(l) for l in meta["label"]])
    log(f"{NAME} {VERSION}: {X.shape[0]} rows x {X.shape[1]} features")
    rng = np.random.RandomState(SEED)
    novel = np.isin(raw, list(base.NOVEL))
    val = (rng.rand(len(y)) < 0.2) | novel
    clf_v = base.fit(X[~val], y[~val], HP)
    ae_v, mean_v, scale_v, c_v, _ = fit_ae(X[~val & (y == 0)], np.random.RandomState(SEED + 1))
    P = fused(clf_v, ae_v, mean_v, scale_v, c_v, X[val])
    score = 1 - P[:, 0]
    yb = y[val] != 0
    t, ba = threshold_balanced(yb, score)
    rep = binary_report(yb, score, t)
    rep_novel = binary_report(yb[novel[val]], score[novel[val]], t)
    clf_only = 1 - clf_v.predict_proba(X[val])[:, 0]
    t0, ba0 = threshold_balanced(yb, clf_only)
    log(f"{NAME} {VERSION}: threshold {t:.4f} balanced acc {ba:.4f} (classifier alone {ba0:.4f}) val {rep} novel-only tpr {rep_novel['tpr']:.3f}")

    clf = base.fit(X, y, HP)
    ae, mean, scale, c, n_fit = fit_ae(X[y == 0], np.random.RandomState(SEED + 1))
    mdir = os.path.join(MODELS, NAME, VERSION)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    build_onnx(clf, ae, mean, scale, c, X.shape[1], path)
    from onnx.reference import ReferenceEvaluator
    chk = ReferenceEvaluator(path).run(None, {"input": X[:300].astype(np.float32)})[0]
    ref = fused(clf, ae, mean, scale, c, X[:300])
    assert np.allclose(chk, ref, atol=1e-4), float(np.abs(chk - ref).max())

    m = dict(d)
    m["model"] = model_section(mdir, ["probabilities"], X.shape[1], 6, "mlp")
    m["threshold"] = round(float(t), 4)
    m["anomaly"] = {"mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale], "top_features": 3}
    files = [{"path": f["path"], "sha256": sha256_file(os.path.join(DATA, f["path"])), "mapping": f["mapping"]}
             for f in d["training"]["train"]["files"]]
    m["training"] = dict(d["training"], files=files, seed=SEED, library=libs(),
                         command="make -C models nslkdd_hybrid  (models/train/nslkdd_hybrid.py)",
                         algorithm=("MLP 64-32 classifier (as 1.0.0) fused with the autoencoder 125-32-8-32-125 of "
                                    f"nsl-kdd-flow-anomaly refit on the normal rows ({n_fit} fit); "
                                    "P(normal) = p_normal (1 - s), P(anomaly) = p_normal s, attack classes as the classifier; "
                                    "threshold by balanced accuracy on a novelty validation split"),
                         validation=("20% random rows of KDDTrain+ plus all rows of attack types " + ", ".join(sorted(base.NOVEL)) +
                                     " held out of a validation classifier and a validation autoencoder with the same hyper-parameters; "
                                     "the served models are refit on all of KDDTrain+ (the autoencoder on its normal rows)"))
    m["metrics"] = {"validation": {"balanced_accuracy": ba, **rep, "novel_attack_tpr": rep_novel["tpr"],
                                   "novel_attack_types": sorted(base.NOVEL), "classifier_alone_balanced_accuracy": ba0}}
    write_json(os.path.join(mdir, "manifest.json"), m)
    log(f"{NAME} {VERSION}: wrote {mdir}")


if __name__ == "__main__":
    main()
