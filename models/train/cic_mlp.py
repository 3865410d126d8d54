"""cic-ids2017-flow 1.2.0: a small MLP in place of 1.1.0's 640 trees.

Why: 1.1.0 (LightGBM, 40 rounds x 16 classes) costs ~6.2 us per row in
ONNX Runtime alone whatever the batch size, six times the whole detection
budget (detect_ns_per_event <= 1,000 ns, issue #12). One hidden layer of 64
ReLU units is ~6,300 multiply-adds per row, a few hundred ns in ONNX
Runtime, and reaches the same validation macro-F1 (issue #15's goal is
macro-F1 >= 0.95 on the test split).

Same data, same feature spec (cic.draft(): 83 log1p CICFlowMeter
statistics computed by the Go engine), same splits as 1.1.0: the gateway's
extraction is unchanged and the test figures compare directly.

Training rows only, and how:
- validation = per class, the last 20% by capture time of the training
  part (as 1.1.0); hyper-parameters and the threshold are chosen on it
  with a validation model fit on the other 80%; the served model is then
  refit on all training rows with the same hyper-parameters and a fixed
  number of epochs (no early stopping, so nothing else is tuned).
- sklearn's MLPClassifier has no class weights: classes with fewer than
  FLOOR training rows (Heartbleed, Infiltration, the three web attacks)
  are oversampled with replacement (seeded) up to FLOOR rows, so the loss
  sees them; 1.1.0 used balanced class weights for the same reason.

The ONNX graph is written by hand (as nslkdd_hybrid.py does) rather than by
skl2onnx so that the StandardScaler folds into the first layer:
W' = W / scale (per input row), b' = b - (mean / scale) W. That removes two
element-wise passes over the 83 inputs per row and leaves Gemm, Relu,
Gemm, Softmax; the result is checked against sklearn before it is written.
"""
import os

import numpy as np

import cic
from common import (MODELS, SEED, binary_report, draft_path, features, finish, libs, log,
                    threshold_balanced, write_json)  # noqa: F401 (libs: finish's default list, replaced below)

NAME, VERSION = cic.NAME, "1.2.0"
# Chosen by validation macro-F1 (the split above, never test) among
# (hidden, alpha, oversampling floor), 100 epochs, Adam lr 1e-3, batch 256:
#   (64,32) 1e-3 200: 0.9863   (32,) 1e-3 200: 0.9789   (64,) 1e-3 200: 0.9946
#   (128,) 1e-3 200: 0.9941    (64,) 1e-2 200: 0.9955   (64,) 1e-3 200 x200 epochs: 0.9946
#   (32,16) 1e-3 200: 0.9537   (64,) 1e-3 50: 0.9855    (64,) 1e-1 200: 0.9854
#   (32,) 1e-2 200: 0.9789     (48,) 1e-2 200: 0.9858
# (64,) with L2 1e-2 is the best and among the cheapest of the good ones.
# This validation holds only 2-3 flows of the three smallest classes, so one
# flow moves macro-F1 by ~0.03, and it is easier than the test split (the
# chosen model: 0.9955 here, 0.92 on test). A rolling-origin check on the
# training part alone (per class, fit on the first 40/50/60/80%, validate
# on the next 20%; mean of the four macro-F1s) did not separate the
# candidates either: MLP 32 0.9545, 64 0.9498, 96 0.9421, 128 0.9545,
# 64-32 0.9308, 128-32 0.9426; random forests (balanced, full depth) of 4
# and 8 trees 0.9220, 0.9381; one decision tree 0.9223; the MLP averaged
# with a 4-tree forest 0.9520; students of 1.1.0 (the MLP also fit on
# 10,000 synthetic rows labelled by the LightGBM teacher: within-class
# mixup 0.9292, within-class feature swap 0.9420). So the choice above stands.
# Disclosure: while exploring, the test macro-F1 of some forests was also
# computed (balanced, full depth: 8 trees 0.9551, 16 trees 0.9589, 32 trees
# 0.9403; extra-trees 8 0.9434, 16 0.9553; 16 trees of depth 12 0.9116)
# and of one teacher-distilled MLP (gaussian jitter, 0.7973). None was chosen
# by it: on the training-only checks above the forests rank below the MLP,
# and they cost more (ONNX Runtime, CPU ns per row, chunked as served / one
# Run of 8,192: 16 trees 948 / 768, 8 trees 455 / 363; this MLP 154-189).
HP = {"hidden": (64,), "alpha": 1e-2, "epochs": 100, "floor": 200}


def oversample(X, y, floor, rng):
    """X, y with each class of fewer than floor rows topped up to floor rows
    drawn with replacement from its own rows."""
    idx = [np.arange(len(y))]
    for c in np.unique(y):
        i = np.where(y == c)[0]
        if len(i) < floor:
            idx.append(rng.choice(i, floor - len(i), replace=True))
    idx = np.concatenate(idx)
    return X[idx], y[idx]


def fit(X, y, hp=HP):
    """StandardScaler + MLPClassifier on X, y (every label of cic.LABELS
    must occur in y so the output has one column per label)."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    assert set(np.unique(y)) == set(range(len(cic.LABELS))), np.unique(y)
    # The scaler sees the rows as they are (not the copies), then the MLP
    # fits the oversampled standardised rows.
    sc = StandardScaler().fit(X)
    Zo, yo = oversample(sc.transform(X), y, hp["floor"], np.random.RandomState(SEED))
    mlp = MLPClassifier(hidden_layer_sizes=hp["hidden"], alpha=hp["alpha"], max_iter=hp["epochs"],
                        early_stopping=False, random_state=SEED, batch_size=256, learning_rate_init=1e-3)
    mlp.fit(Zo, yo)
    return make_pipeline(sc, mlp)


def build_onnx(clf, n, path):
    """Write clf (StandardScaler + MLPClassifier) as Gemm/Relu/.../Softmax
    with the scaler folded into the first Gemm."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    sc, mlp = clf.steps[0][1], clf.steps[1][1]
    W = [np.asarray(w, np.float64) for w in mlp.coefs_]
    b = [np.asarray(v, np.float64) for v in mlp.intercepts_]
    mean, scale = np.asarray(sc.mean_, np.float64), np.asarray(sc.scale_, np.float64)
    b[0] = b[0] - (mean / scale) @ W[0]
    W[0] = W[0] / scale[:, None]
    inits, nodes, h = [], [], "input"
    for i, (w, v) in enumerate(zip(W, b)):
        inits += [numpy_helper.from_array(w.astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(v.astype(np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [f"g{i}"]))
        h = f"g{i}"
        if i < len(W) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    nodes.append(helper.make_node("Softmax", [h], ["probabilities"], axis=1))
    k = len(mlp.classes_)
    g = helper.make_graph(nodes, "ledgerguard",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, k])], inits)
    onx = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)], producer_name="ledgerguard")
    onx.ir_version = 8
    onnx.checker.check_model(onx)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def main():
    d = cic.draft()
    d["version"] = VERSION
    dp = draft_path(NAME + "-" + VERSION)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    y = np.array([cic.LABELS.index(l) for l in meta["label"]])
    log(f"{NAME} {VERSION}: {X.shape[0]} rows x {X.shape[1]} features")
    val = cic.validation_split(y, meta["time"])  # the rows cic.py validates on
    m = fit(X[~val], y[~val])
    p = m.predict_proba(X[val])
    score = 1 - p[:, 0]
    yb = y[val] != 0
    th, ba = threshold_balanced(yb, score)
    from sklearn.metrics import f1_score
    mf1 = f1_score(y[val], p.argmax(1), average="macro")
    rep = binary_report(yb, score, th)
    log(f"{NAME} {VERSION}: val threshold {th} balanced acc {ba:.4f} macro-F1 {mf1:.4f} {rep}")

    model = fit(X, y)
    mdir = os.path.join(MODELS, NAME, VERSION)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    build_onnx(model, X.shape[1], path)
    from onnx.reference import ReferenceEvaluator
    chk = ReferenceEvaluator(path).run(None, {"input": X[:500].astype(np.float32)})[0]
    ref = model.predict_proba(X[:500])
    assert np.allclose(chk, ref, atol=1e-4), float(np.abs(chk - ref).max())
    hidden = "-".join(str(h) for h in HP["hidden"])
    man = finish(d, mdir, ["probabilities"], X.shape[1], len(cic.LABELS), "mlp", th,
                 {"balanced_accuracy": ba, "macro_f1": mf1, **rep},
                 (f"MLP {X.shape[1]}-{hidden}-{len(cic.LABELS)} (ReLU, softmax; Adam, L2 {HP['alpha']}, "
                  f"{HP['epochs']} epochs, batch 256) on standardised features, the scaler folded into the first layer; "
                  f"classes below {HP['floor']} training rows oversampled (seeded) to {HP['floor']}"),
                 libs(), "per class, the last 20% by capture time of the training part (first 70%); "
                 "hyper-parameters (models/train/cic_mlp.py HP) and the threshold chosen on it with a model fit on "
                 "the other 80%; the served model is refit on the whole training part")
    import onnx
    import sklearn
    man["training"]["command"] = "make -C models cic_mlp  (models/train/cic_mlp.py)"
    man["training"]["library"] = ["scikit-learn " + sklearn.__version__, "numpy " + np.__version__,
                                  "onnx " + onnx.__version__]
    write_json(os.path.join(mdir, "manifest.json"), man)
    log(f"{NAME} {VERSION}: wrote {mdir}")


if __name__ == "__main__":
    main()
