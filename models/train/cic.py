"""CIC-IDS2017 (improved, distrinet CNS2022 sample) multi-class flow classifier."""
import gzip
import os

import numpy as np

from common import (DATA, MODELS, SEED, binary_report, draft_path, export, features,
                    finish, libs, log, threshold_balanced, write_json)

NAME, VERSION = "cic-ids2017-flow", "1.0.0"
DIR = "cic-ids2017-improved-sample"
FILES = sorted(f for f in os.listdir(os.path.join(DATA, DIR)) if f.endswith(".csv.gz"))
# Identifiers and capture artefacts are not features: addresses, ports of the
# client, the timestamp and row ids would let a model memorise the lab.
DROP = {"id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Timestamp", "Label", "Attempted Category"}
CATEGORY = {
    "BENIGN": None, "Botnet": ("T1071", "Application Layer Protocol (C2)"),
    "DDoS": ("T1498", "Network Denial of Service"), "DoS GoldenEye": ("T1499", "Endpoint Denial of Service"),
    "DoS Hulk": ("T1499", "Endpoint Denial of Service"), "DoS Slowhttptest": ("T1499", "Endpoint Denial of Service"),
    "DoS Slowloris": ("T1499", "Endpoint Denial of Service"), "FTP-Patator": ("T1110", "Brute Force"),
    "Heartbleed": ("T1190", "Exploit Public-Facing Application"), "Infiltration": ("TA0001", "Initial Access"),
    "Infiltration - Portscan": ("T1046", "Network Service Discovery"), "Portscan": ("T1046", "Network Service Discovery"),
    "SSH-Patator": ("T1110", "Brute Force"), "Web Attack - Brute Force": ("T1110", "Brute Force"),
    "Web Attack - SQL Injection": ("T1190", "Exploit Public-Facing Application"),
    "Web Attack - XSS": ("T1189", "Drive-by Compromise"),
}
LABELS = list(CATEGORY)


def header():
    with gzip.open(os.path.join(DATA, DIR, FILES[0]), "rt") as f:
        return f.readline().strip().split(",")


def field(col):
    out, under = "", False
    for ch in col.strip():
        if ch.isalnum():
            out += ch.lower(); under = False
        elif not under:
            out += "_"; under = True
    return "cic." + out


def draft():
    cols = header()
    fields = {"Src IP": "source.ip", "Dst IP": "destination.ip", "Src Port": "source.port",
              "Dst Port": "destination.port"}
    feats = []
    for c in cols:
        if c in DROP:
            continue
        f = fields.get(c, field(c))
        # Every CICFlowMeter statistic is heavy-tailed (bytes/s up to 1e9,
        # IATs in microseconds): sign-preserving log1p for all.
        feats.append({"name": f.replace("cic.", ""), "kind": "numeric", "field": f,
                      "transforms": [{"op": "log1p"}]})
    mapping = {"format": "csv", "class": "flow", "sourcetype": "cicflowmeter", "header": True,
               "prefix": "cic.", "fields": fields, "label_column": "Label",
               "skip": ["id", "Attempted Category"], "time_column": "Timestamp",
               "time_layout": "2006-01-02 15:04:05.999999"}
    files = [{"path": f"{DIR}/{f}", "mapping": "cic"} for f in FILES]
    return {
        "name": NAME, "version": VERSION,
        "description": "Multi-class classifier of CICFlowMeter flow records (CIC-IDS2017, corrected 'improved' labels): BENIGN vs 15 attack classes; score = 1 - P(BENIGN).",
        "applies_to": {"classes": ["flow"], "require_fields": ["cic.flow_duration", "cic.total_fwd_packet"]},
        "features": {"features": feats},
        "labels": LABELS, "benign": "BENIGN",
        "categories": {k: {"id": v[0], "name": v[1]} for k, v in CATEGORY.items() if v},
        "datasets": {"cic": mapping},
        "training": {"train": {"dataset": "cic-ids2017", "split": "train", "files": files,
                               "select": {"order_by": "@time", "from": 0, "to": 0.7, "per_group": True},
                               "note": "per class, the first 70% of its flows by capture time"}},
        "evaluation": [{"dataset": "cic-ids2017", "split": "test", "files": files,
                        "select": {"order_by": "@time", "from": 0.7, "to": 1.0, "per_group": True},
                        "note": "per class, the last 30% of its flows by capture time"}],
        "threshold": 0.5,
    }


# Hyper-parameters per version. 1.1.0 regularises the leaves (at least 10
# flows per leaf, L2 1.0) with the same 40 rounds, so it costs what 1.0.0
# costs; chosen among four candidates (1.0.0; 80 rounds lr 0.1; 7 leaves
# depth 4 x 60 rounds; this) by macro-F1 on the validation split below
# (0.9515, 0.9593, 0.9814, 0.9814; the tie went to the cheaper one), never
# on the test split.
HP = {
    "1.0.0": {},
    "1.1.0": {"min_child_samples": 10, "reg_lambda": 1.0},
}


def fit(X, y, n_classes, version=VERSION):
    import lightgbm as lgb
    kw = dict(objective="multiclass", num_class=n_classes, n_estimators=40,
              num_leaves=15, max_depth=6, learning_rate=0.15, min_child_samples=3,
              class_weight="balanced", subsample=1.0, colsample_bytree=0.8,
              random_state=SEED, deterministic=True, n_jobs=1, verbose=-1)
    kw.update(HP[version])
    m = lgb.LGBMClassifier(**kw)
    m.fit(X, y)
    return m


def main():
    for v in HP:
        train(v)


def validation_split(y, times):
    """The validation rows of the training split: per class, the last 20%
    of its flows by capture time (cic_mlp and cic_cascade validate on the
    same rows)."""
    t = np.array(times)
    val = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = np.where(y == c)[0]
        idx = idx[np.argsort(t[idx], kind="stable")]
        val[idx[int(len(idx) * 0.8):]] = True
    return val


def train(version):
    d = draft()
    d["version"] = version
    dp = draft_path(NAME)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    y = np.array([LABELS.index(l) for l in meta["label"]])
    log(f"{NAME}: {X.shape[0]} rows x {X.shape[1]} features")
    val = validation_split(y, meta["time"])
    m = fit(X[~val], y[~val], len(LABELS), version)
    p = m.predict_proba(X[val])
    score = 1 - p[:, 0]
    yb = y[val] != 0
    th, ba = threshold_balanced(yb, score)
    from sklearn.metrics import f1_score
    mf1 = f1_score(y[val], p.argmax(1), average="macro")
    rep = binary_report(yb, score, th)
    log(f"{NAME}: val threshold {th} balanced acc {ba:.4f} macro-F1 {mf1:.4f} {rep}")
    model = fit(X, y, len(LABELS), version)
    mdir = os.path.join(MODELS, NAME, version)
    os.makedirs(mdir, exist_ok=True)
    outs = export(model, X.shape[1], "lightgbm", os.path.join(mdir, "model.onnx"))
    finish(d, mdir, outs, X.shape[1], len(LABELS), "tree_ensemble", th,
           {"balanced_accuracy": ba, "macro_f1": mf1, **rep},
           "LightGBM multi-class, 40 rounds x 16 classes, <=15 leaves, depth <=6, balanced class weights"
           + (", >= 10 flows per leaf, L2 1.0" if HP[version] else ""),
           libs(), "per class, the last 20% by capture time of the training part (first 70%)")


if __name__ == "__main__":
    main()
