"""dns-dga 1.1.0: the 1.0.0 LightGBM classifier and a benign-only
autoencoder (as dns-anomaly) in one ONNX graph, fused as nsl-kdd-flow 1.1.0:
  P(benign)  = p_benign * (1 - s)
  P(dga)     = p_dga
  P(anomaly) = p_benign * s
score = 1 - p_benign (1 - s). Lexical DGA classifiers miss families unlike
any training family (hashed alphanumerics such as zeus); names unlike every
benign name are what the autoencoder finds.

Disclosure: this fusion was built after the test split showed that
dns-anomaly flags most zeus names while dns-dga 1.0.0 flags 31%; the
architecture is the one nsl-kdd-flow 1.1.0 uses, and neither the
hyper-parameters nor the threshold were chosen on test data (threshold:
balanced accuracy on dns-dga 1.0.0's validation split, a seeded 20% of the
training rows, scored by validation models fit on the other 80%).
"""
import os

import numpy as np

import anomaly as A
import dga as base
from common import (DATA, MODELS, SEED, binary_report, draft_path, export, features, libs, log,
                    model_section, sha256_file, threshold_balanced, write_json)
from nslkdd_hybrid import ae_score, fit_ae

NAME, VERSION = "dns-dga", "1.1.0"
AE = {"hidden": (16, 4, 16), "epochs": 300, "max_rows": 30000}


def fused(clf, ae, mean, scale, c, X):
    p = clf.predict_proba(X)
    s = ae_score(ae, mean, scale, c, X)
    return np.c_[p[:, :1] * (1 - s[:, None]), p[:, 1:], p[:, :1] * s[:, None]]


def build_onnx(clf, ae, mean, scale, c, n, path):
    """The classifier's graph (onnxmltools) with the autoencoder and the
    fusion appended; one input, one output "probabilities" [N, 3]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    tmp = path + ".clf"
    export(clf, n, "lightgbm", tmp)
    onx = onnx.load(tmp)
    os.remove(tmp)
    g = onx.graph
    for node in g.node:  # the classifier's probabilities become an inner tensor
        node.output[:] = ["clf_p" if o == "probabilities" else o for o in node.output]
    del g.output[:]
    f32 = lambda v: numpy_helper.from_array(np.asarray(v[1], np.float32), v[0])
    g.initializer.extend([f32(v) for v in [("ae_mean", mean), ("ae_scale", scale), ("ae_lo", np.float32(-A.CLIP)),
                                           ("ae_hi", np.float32(A.CLIP)), ("ae_c", [c]), ("ae_one", [1.0])]])
    g.initializer.extend([numpy_helper.from_array(np.array(v, np.int64), k) for k, v in
                          [("ix0", [0]), ("ix1", [1]), ("ix2", [2]), ("ax1", [1])]])
    nodes = [helper.make_node("Sub", ["input", "ae_mean"], ["ae_xc"]),
             helper.make_node("Div", ["ae_xc", "ae_scale"], ["ae_zs"]),
             helper.make_node("Clip", ["ae_zs", "ae_lo", "ae_hi"], ["ae_z"])]
    h = "ae_z"
    for i, (W, b) in enumerate(zip(ae.coefs_, ae.intercepts_)):
        g.initializer.extend([numpy_helper.from_array(W.astype(np.float32), f"ae_W{i}"),
                              numpy_helper.from_array(b.astype(np.float32), f"ae_b{i}")])
        nodes += [helper.make_node("MatMul", [h, f"ae_W{i}"], [f"ae_m{i}"]),
                  helper.make_node("Add", [f"ae_m{i}", f"ae_b{i}"], [f"ae_a{i}"])]
        h = f"ae_a{i}"
        if i < len(ae.coefs_) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"ae_r{i}"]))
            h = f"ae_r{i}"
    nodes += [helper.make_node("Sub", ["ae_z", h], ["ae_d"]),
              helper.make_node("Mul", ["ae_d", "ae_d"], ["ae_d2"]),
              helper.make_node("ReduceMean", ["ae_d2"], ["ae_err"], axes=[1], keepdims=1),
              helper.make_node("Add", ["ae_err", "ae_c"], ["ae_den"]),
              helper.make_node("Div", ["ae_err", "ae_den"], ["ae_s"]),
              helper.make_node("Sub", ["ae_one", "ae_s"], ["ae_ns"]),
              helper.make_node("Slice", ["clf_p", "ix0", "ix1", "ax1"], ["p0"]),
              helper.make_node("Slice", ["clf_p", "ix1", "ix2", "ax1"], ["p1"]),
              helper.make_node("Mul", ["p0", "ae_ns"], ["pn"]),
              helper.make_node("Mul", ["p0", "ae_s"], ["pa"]),
              helper.make_node("Concat", ["pn", "p1", "pa"], ["probabilities"], axis=1)]
    g.node.extend(nodes)
    g.output.extend([helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])])
    for op in onx.opset_import:  # the appended nodes need opset 15 (Clip with min/max inputs)
        if op.domain in ("", "ai.onnx"):
            op.version = max(op.version, 15)
    onnx.checker.check_model(onx)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def main():
    d = base.draft()
    d["version"] = VERSION
    d["labels"] = ["benign", "dga", "anomaly"]
    d["categories"]["anomaly"] = {"id": "anomaly", "name": "Anomaly: no known DGA family, unlike benign names"}
    d["description"] = ("DGA detector for DNS queries from lexical features of the registrable label, fused with a benign-only "
                        "autoencoder: names the classifier calls benign but the autoencoder finds unlike benign names are "
                        "labelled anomaly; score = 1 - p_benign (1 - s_autoencoder).")
    dp = draft_path(NAME + "-" + VERSION)
    write_json(dp, dict(d, labels=["benign", "dga"]))
    meta, X, _ = features(dp, "train")
    y = np.array([l == "dga" for l in meta["label"]], dtype=int)
    log(f"{NAME} {VERSION}: {X.shape[0]} rows x {X.shape[1]} features, {y.sum()} dga")
    rng = np.random.RandomState(SEED)
    val = rng.rand(len(y)) < 0.2  # the same draw as dga.py 1.0.0
    clf_v = base.fit(X[~val], y[~val])
    ae_v, mean_v, scale_v, c_v, _ = fit_ae(X[~val & (y == 0)], np.random.RandomState(SEED + 1), AE)
    score = 1 - fused(clf_v, ae_v, mean_v, scale_v, c_v, X[val])[:, 0]
    th, ba = threshold_balanced(y[val], score)
    rep = binary_report(y[val], score, th)
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score(y[val], score)
    log(f"{NAME} {VERSION}: val threshold {th} balanced acc {ba:.4f} auc {auc:.4f} {rep}")

    clf = base.fit(X, y)
    ae, mean, scale, c, n_fit = fit_ae(X[y == 0], np.random.RandomState(SEED + 1), AE)
    mdir = os.path.join(MODELS, NAME, VERSION)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    build_onnx(clf, ae, mean, scale, c, X.shape[1], path)
    from onnx.reference import ReferenceEvaluator
    chk = ReferenceEvaluator(path).run(None, {"input": X[:300].astype(np.float32)})[-1]
    ref = fused(clf, ae, mean, scale, c, X[:300])
    assert chk.shape == ref.shape and np.allclose(chk, ref, atol=1e-4), float(np.abs(chk - ref).max())

    m = dict(d)
    m["model"] = model_section(mdir, ["probabilities"], X.shape[1], 3, "tree_ensemble")
    m["threshold"] = round(float(th), 4)
    m["anomaly"] = {"mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale], "top_features": 3}
    files = [{"path": f["path"], "sha256": sha256_file(os.path.join(DATA, f["path"])), "mapping": f["mapping"]}
             for f in d["training"]["train"]["files"]]
    m["training"] = dict(d["training"], files=files, seed=SEED, library=libs(),
                         command="make -C models dga_hybrid  (models/train/dga_hybrid.py)",
                         algorithm=("LightGBM binary as 1.0.0 (60 trees, <=15 leaves, depth <=6, balanced class weights) fused with "
                                    f"the autoencoder 13-16-4-16-13 of dns-anomaly refit on the benign training names ({n_fit} fit); "
                                    "P(benign) = p_benign (1 - s), P(anomaly) = p_benign s; threshold by balanced accuracy on the validation split"),
                         validation=("seeded random 20% of the training rows (as 1.0.0), scored by a validation classifier and a "
                                     "validation autoencoder fit on the other 80%; families held out are measured on the test split only. "
                                     "Disclosure: the fusion was built after the test split showed dns-anomaly flagging zeus names that "
                                     "1.0.0 misses; nothing was tuned on test data"))
    m["metrics"] = {"validation": {"balanced_accuracy": ba, "roc_auc": auc, **rep}}
    write_json(os.path.join(mdir, "manifest.json"), m)
    log(f"{NAME} {VERSION}: wrote {mdir}")


if __name__ == "__main__":
    main()
