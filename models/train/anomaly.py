"""Anomaly models for attacks no label covers: one autoencoder per telemetry
class (flows: NSL-KDD and CICFlowMeter features; DNS; authentication),
trained on the benign rows of each supervised model's training split only.

Why an autoencoder and not an isolation forest: an isolation forest is a
tree ensemble, which ONNX Runtime runs at 0.2-0.8 M rows/s on these 2 cores
(2.5-5 us per event for 100 trees, above the 1 us budget of
detect_ns_per_event), while a small dense network runs at millions of rows/s.
The autoencoder's per-feature reconstruction error is also an explanation
in the same units as the input (standard deviations of benign data).

The ONNX graph is built here from the fitted weights, so the gateway serves
exactly this arithmetic:
  z   = clip((x - mean) / scale, -10, 10)      benign training statistics
  r   = decoder(encoder(z))                     MLP, ReLU
  err = mean((z - r)^2)                         reconstruction error
  s   = err / (err + c)                         c = 99th percentile of the benign validation error
  probabilities = [1 - s, s]                    so score = 1 - P(benign) = s
Thresholds: the 99.9th percentile of s on held-out benign training rows
(target FPR 0.1 %), never a test row.

Usage: python anomaly.py [NAME[@VERSION] ...]   (default: all)
"""
import copy
import os
import sys

import numpy as np

from common import (DATA, MODELS, SEED, binary_report, draft_path, features, libs, log,
                    model_section, sha256_file, write_json)

VERSION = "1.0.0"
CLIP = 10.0
# Features that are (nearly) constant in benign data would give huge z for
# any change; a floor on the scale keeps one rare category from dominating.
SCALE_FLOOR = 0.05
TARGET_FPR = 0.001

from nslkdd import TEST_ONLY as KDD_TEST_ONLY  # noqa: E402


def anomaly_labels(d, benign):
    """Rewrite the mappings so every non-benign raw label becomes "anomaly"
    and each raw label (attack family) is its own reporting group."""
    for m in d["datasets"].values():
        m["label_map"] = {k: v for k, v in m.get("label_map", {}).items() if v == benign}
        m["label_map"][benign] = benign
        m.pop("group_map", None)
        m["label_default"] = "anomaly"
        if m.get("label_rule"):
            m["label_rule"] = dict(m["label_rule"], label="anomaly")
    d["labels"], d["benign"] = [benign, "anomaly"], benign
    d["categories"] = {"anomaly": {"id": "anomaly", "name": "Anomaly: unlike the benign training data (no ATT&CK technique known)"}}


def nslkdd():
    import nslkdd as base
    d = base.draft()
    d["name"] = "nsl-kdd-flow-anomaly"
    d["description"] = ("Anomaly detector for flows with NSL-KDD's 41 connection features: an autoencoder trained on the "
                        "normal rows of KDDTrain+ only; score = reconstruction error mapped to [0, 1).")
    anomaly_labels(d, "normal")
    d["datasets"]["nsl-kdd"]["label_map"] = {"normal": "normal"}
    test = {"path": "nsl-kdd/KDDTest+.txt", "mapping": "nsl-kdd"}
    d["evaluation"] = [
        {"dataset": "nsl-kdd", "split": "KDDTest+", "files": [test],
         "held_out": ["all attack types (trained on normal rows only)"],
         "note": "all of KDDTest+; no attack row was used in training, so every attack is unseen"},
        {"dataset": "nsl-kdd", "split": "KDDTest+:zero-day:17-test-only-types",
         "files": [dict(test, filter=["normal"] + KDD_TEST_ONLY)], "held_out": KDD_TEST_ONLY,
         "note": "normal rows of KDDTest+ and the 17 attack types that occur only in the test sets"},
        {"dataset": "nsl-kdd", "split": "KDDTest-21", "files": [{"path": "nsl-kdd/KDDTest-21.txt", "mapping": "nsl-kdd"}],
         "held_out": ["all attack types (trained on normal rows only)"],
         "note": "KDDTest-21 (records most learners of the dataset's authors missed)"},
    ]
    return d, "normal", {"hidden": (32, 8, 32), "epochs": 40, "max_rows": 30000}


def cic():
    import cic as base
    d = base.draft()
    d["name"] = "cic-ids2017-flow-anomaly"
    d["description"] = ("Anomaly detector for CICFlowMeter flows: an autoencoder trained on the BENIGN training flows of "
                        "CIC-IDS2017 only; score = reconstruction error mapped to [0, 1).")
    anomaly_labels(d, "BENIGN")
    d["datasets"]["cic"]["label_map"] = {"BENIGN": "BENIGN"}
    classes = [c for c in base.LABELS if c != "BENIGN"]
    d["evaluation"][0].update({"split": "test:zero-day:all-attack-classes", "held_out": classes,
                               "note": "per class, the last 30% of its flows by capture time; no attack flow was used in training"})
    return d, "BENIGN", {"hidden": (32, 8, 32), "epochs": 200, "max_rows": 30000}


def cic_front():
    """cic-ids2017-flow-anomaly 1.2.0: 1.0.0 on the 51 statistics
    cic-ids2017-flow 1.5.0 reads (cic_front.py: every field among the first
    keys of a record's sorted fields, up to cic.fwd_packet_length_std), in
    the same order and with the same applies_to, so the pair shares one
    extraction within issue #12's budget. Same data, split, architecture
    and threshold rule as 1.0.0."""
    import cic_front as front
    d, benign, hp = cic()
    keep = set(front.fields())
    d["features"]["features"] = [f for f in d["features"]["features"] if f["field"] in keep]
    d["applies_to"]["require_fields"] = list(front.REQUIRE)
    d["description"] = ("Anomaly detector for CICFlowMeter flows: an autoencoder trained on the BENIGN training flows of "
                        f"CIC-IDS2017 only, on the {len(keep)} statistics cic-ids2017-flow 1.5.0 reads (the first keys of a "
                        "record's sorted fields); score = reconstruction error mapped to [0, 1).")
    return d, benign, dict(hp, version="1.2.0")


def dga():
    import dga as base
    d = base.draft()
    d["name"] = "dns-anomaly"
    d["description"] = ("Anomaly detector for DNS query names: an autoencoder over the lexical statistics of the "
                        "registrable label, trained on benign names only; score = reconstruction error mapped to [0, 1).")
    anomaly_labels(d, "benign")
    d["datasets"]["pcaphunt"]["group_map"] = {"0": "pcaphunt-benign", "1": "pcaphunt-dga"}
    # Benign lists only (first 80% of each): no DGA family is in training.
    d["training"]["train"]["files"] = [f for f in d["training"]["train"]["files"]
                                       if f.get("label") in ("alexa", "top-sites") or f["mapping"] == "pcaphunt"]
    d["training"]["train"]["note"] = "benign lists only: the first 80% of Alexa-1000, Pcaphunt benign rows, Moz top sites"
    fams = base.TRAIN_FAMILIES + base.HELD_OUT
    benign_test = [f for f in d["evaluation"][0]["files"] if f["mapping"] != "domains" or f.get("label") == "alexa"]
    d["evaluation"] = [
        {"dataset": "dga", "split": "zero-day:cryptolocker+matsnu+zeus", "held_out": base.HELD_OUT,
         "files": [base.fam(f) for f in base.HELD_OUT] + benign_test,
         "note": "the three families dns-dga holds out, vs the last 20% of each benign list (same split as dns-dga)"},
        {"dataset": "dga", "split": "zero-day:all-8-families", "held_out": fams,
         "files": [base.fam(f) for f in fams] + benign_test,
         "note": "all eight andrewaeva DGA families (none in this model's training) vs the last 20% of each benign list"},
        dict(d["evaluation"][1], held_out=["bambenek-feed DGA"]),
    ]
    return d, "benign", {"hidden": (16, 4, 16), "epochs": 300, "max_rows": 30000}


def auth():
    import auth as base
    d = base.draft()
    d["name"] = "auth-anomaly"
    d["description"] = ("Anomaly detector for authentication events from per-source and per-user sliding-window "
                        "counts: an autoencoder trained on benign training events only; score = reconstruction error mapped to [0, 1).")
    anomaly_labels(d, "benign")
    for ev in d["evaluation"]:
        if ev["split"] != "windows-benign":
            ev["split"] += ":zero-day:brute_force"
            ev["held_out"] = ["brute_force (trained on benign events only)"]
    return d, "benign", {"hidden": (8, 3, 8), "epochs": 500, "max_rows": 30000}


SPECS = {"nsl-kdd-flow-anomaly": nslkdd, "cic-ids2017-flow-anomaly": cic, "dns-anomaly": dga, "auth-anomaly": auth,
         "cic-ids2017-flow-anomaly@1.2.0": cic_front}


def fit_ae(Z, hp):
    from sklearn.neural_network import MLPRegressor
    m = MLPRegressor(hidden_layer_sizes=hp["hidden"], activation="relu", alpha=1e-4,
                     max_iter=hp["epochs"], early_stopping=False, random_state=SEED,
                     batch_size=min(256, len(Z)), learning_rate_init=1e-3, tol=1e-6, n_iter_no_change=1000)
    m.fit(Z, Z)
    return m


def standardise(X, mean, scale):
    return np.clip((X - mean) / scale, -CLIP, CLIP).astype(np.float32)


def recon_error(m, Z):
    return ((Z - m.predict(Z)) ** 2).mean(1)


def build_onnx(m, mean, scale, c, n, path):
    """The served graph (see the module doc); opset 15, default domain only."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in [
        ("mean", mean), ("scale", scale), ("lo", np.float32(-CLIP)), ("hi", np.float32(CLIP)),
        ("c", np.array([c], np.float32)), ("one", np.array([1.0], np.float32))]]
    nodes = [helper.make_node("Sub", ["input", "mean"], ["xc"]),
             helper.make_node("Div", ["xc", "scale"], ["zs"]),
             helper.make_node("Clip", ["zs", "lo", "hi"], ["z"])]
    h = "z"
    L = len(m.coefs_)
    for i, (W, b) in enumerate(zip(m.coefs_, m.intercepts_)):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(b.astype(np.float32), f"b{i}")]
        nodes += [helper.make_node("MatMul", [h, f"W{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        h = f"a{i}"
        if i < L - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    nodes += [helper.make_node("Sub", ["z", h], ["d"]),
              helper.make_node("Mul", ["d", "d"], ["d2"]),
              helper.make_node("ReduceMean", ["d2"], ["err"], axes=[1], keepdims=1),
              helper.make_node("Add", ["err", "c"], ["den"]),
              helper.make_node("Div", ["err", "den"], ["s"]),
              helper.make_node("Sub", ["one", "s"], ["ns"]),
              helper.make_node("Concat", ["ns", "s"], ["probabilities"], axis=1)]
    g = helper.make_graph(nodes, "ledgerguard",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
                          inits)
    onx = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)], producer_name="ledgerguard")
    onx.ir_version = 8
    onnx.checker.check_model(onx)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def onnx_scores(path, X):
    """Scores of X through the exported graph with the reference evaluator
    (checks the graph computes what the numpy pipeline does)."""
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(path).run(None, {"input": X.astype(np.float32)})[0][:, 1]


def train(key):
    d, benign, hp = SPECS[key]()
    name, version = d["name"], hp.get("version", VERSION)
    d["version"], d["detector"], d["threshold"] = version, "anomaly", 0.5
    dp = draft_path(key)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    is_benign = np.array([l == benign for l in meta["label"]])
    log(f"{name}: {X.shape[0]} training rows x {X.shape[1]} features, {is_benign.sum()} benign (only these are used for fitting)")
    rng = np.random.RandomState(SEED)
    B = X[is_benign]
    # Validation: a seeded 20% of the benign training rows (threshold and
    # calibration); the model is fit on the other 80%, subsampled to max_rows.
    val = rng.rand(len(B)) < 0.2
    fit_idx = np.where(~val)[0]
    if len(fit_idx) > hp["max_rows"]:
        fit_idx = np.sort(rng.choice(fit_idx, hp["max_rows"], replace=False))
    Bf = B[fit_idx]
    mean = Bf.mean(0).astype(np.float64)
    scale = np.maximum(Bf.std(0), SCALE_FLOOR).astype(np.float64)
    model = fit_ae(standardise(Bf, mean, scale), hp)
    err_val = recon_error(model, standardise(B[val], mean, scale))
    # c = the benign validation error's 99th percentile: s = 0.5 there, so
    # the [0, 1) score spreads over the tail where alerts are decided
    # (severity cut points 0.6/0.85/0.95 are 1.5/5.7/19 times that error).
    c = float(np.quantile(err_val, 0.99))
    s_val = err_val / (err_val + c)
    q = 1 - TARGET_FPR if val.sum() >= 1000 else 0.99
    th = float(min(max(np.quantile(s_val, q), 1e-4), 1.0))
    th = round(th + 5e-5, 4)  # the manifest stores 4 decimals: round up, never below the quantile
    rep = binary_report(np.zeros(val.sum(), bool), s_val, th)
    vmetrics = {"benign_validation_rows": int(val.sum()), "benign_fpr": rep["fpr"], "threshold": th,
                "calibration_error_p99": c, "threshold_quantile": q}
    # A sanity figure, not used for any choice: how the training split's own
    # attack rows (never fitted) score against the benign validation rows.
    if (~is_benign).any():
        from sklearn.metrics import roc_auc_score
        e_att = recon_error(model, standardise(X[~is_benign], mean, scale))
        s_att = e_att / (e_att + c)
        vmetrics["train_attack_rows"] = int((~is_benign).sum())
        vmetrics["train_attack_auc_vs_benign_validation"] = float(roc_auc_score(
            np.r_[np.zeros(len(s_val)), np.ones(len(s_att))], np.r_[s_val, s_att]))
        vmetrics["train_attack_tpr_at_threshold"] = float((s_att >= th).mean())
    log(f"{name}: threshold {th} (quantile {q} of {val.sum()} benign validation rows) {vmetrics}")

    mdir = os.path.join(MODELS, name, version)
    os.makedirs(mdir, exist_ok=True)
    path = os.path.join(mdir, "model.onnx")
    build_onnx(model, mean, scale, c, X.shape[1], path)
    chk = onnx_scores(path, B[val][:500])
    ref = s_val[:500]
    assert np.allclose(chk, ref, atol=1e-4), float(np.abs(chk - ref).max())

    m = copy.deepcopy(d)
    m["model"] = model_section(mdir, ["probabilities"], X.shape[1], 2, "autoencoder")
    m["threshold"] = th
    m["anomaly"] = {"mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale], "top_features": 3}
    files = [{"path": f["path"], "sha256": sha256_file(os.path.join(DATA, f["path"])), "mapping": f["mapping"]}
             for f in d["training"]["train"]["files"]]
    arch = "-".join(str(h) for h in hp["hidden"])
    m["training"] = dict(d["training"], files=files, seed=SEED, library=libs(),
                         command=f"make -C models anomaly  (models/train/anomaly.py {key})",
                         algorithm=(f"autoencoder {X.shape[1]}-{arch}-{X.shape[1]} (ReLU, Adam, L2 1e-4, {hp['epochs']} epochs) "
                                    f"on benign rows standardised by their mean and std (floor {SCALE_FLOOR}), clipped to ±{CLIP}; "
                                    f"score = err/(err+c), err = mean squared reconstruction error, c = 99th percentile of the benign validation error; "
                                    f"fit on {len(Bf)} benign rows"),
                         validation=(f"a seeded 20% of the benign training rows ({int(val.sum())}) held out of fitting; "
                                     f"threshold = their {q:.3f} quantile of the score (target FPR {1 - q:.3%}); "
                                     "no attack row and no test row was used for fitting, calibration or the threshold"))
    m["metrics"] = {"validation": vmetrics}
    write_json(os.path.join(mdir, "manifest.json"), m)
    log(f"{name}: wrote {mdir}")


def main(names):
    for n in names or list(SPECS):
        train(n)


if __name__ == "__main__":
    main(sys.argv[1:])
