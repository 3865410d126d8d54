"""DNS DGA classifier on domain-name lexical features, families held out."""
import os

import numpy as np

from common import (MODELS, SEED, binary_report, draft_path, export, features, finish,
                    libs, log, threshold_balanced, write_json)

NAME, VERSION = "dns-dga", "1.0.0"
D = "dga-domains"
TRAIN_FAMILIES = ["conficker", "pushdo", "ramdo", "rovnix", "tinba"]
# Held out of training entirely, chosen a priori to cover the three kinds of
# generator: random letters (cryptolocker), dictionary words (matsnu) and
# hashed alphanumerics (zeus).
HELD_OUT = ["cryptolocker", "matsnu", "zeus"]
STATS = ["length", "entropy", "digit_ratio", "vowel_ratio", "consonant_ratio", "hex_ratio",
         "special_ratio", "unique_ratio", "max_consonant_run", "max_digit_run", "switch_ratio",
         "bigram_common_ratio", "bigram_unique_ratio"]


def fam(f):
    return {"path": f"{D}/andrewaeva_{f}_1000.txt", "mapping": "domains", "label": f}


def part(ref, lo, hi):
    return dict(ref, select={"from": lo, "to": hi})


def draft():
    benign_train = [part({"path": f"{D}/andrewaeva_alexa_1000.txt", "mapping": "domains", "label": "alexa"}, 0, 0.8),
                    part({"path": f"{D}/pcaphunt_dataset_sample.zip", "mapping": "pcaphunt", "filter": ["0"]}, 0, 0.8),
                    part({"path": "benign-domains-top-sites/top-sites.json", "mapping": "top-sites", "label": "top-sites"}, 0, 0.8)]
    benign_test = [dict(b, select={"from": 0.8, "to": 1.0}) for b in benign_train]
    label_map = {f: "dga" for f in TRAIN_FAMILIES + HELD_OUT}
    label_map.update({"alexa": "benign", "top-sites": "benign", "0": "benign", "1": "dga"})
    groups = {"0": "pcaphunt-benign", "1": "pcaphunt-dga"}
    common = {"class": "dns", "sourcetype": "domain-list", "label_map": label_map, "group_map": groups}
    return {
        "name": NAME, "version": VERSION,
        "description": "DGA detector for DNS queries from lexical features of the registrable label (left of the public suffix); score = P(dga).",
        "applies_to": {"classes": ["dns"], "require_fields": ["dns.question.name"]},
        "features": {"features": [{"name": "sld", "kind": "lexical", "field": "dns.question.name",
                                   "part": "sld", "stats": STATS}]},
        "labels": ["benign", "dga"], "benign": "benign",
        "categories": {"dga": {"id": "T1568.002", "name": "Dynamic Resolution: Domain Generation Algorithms"}},
        "datasets": {
            "domains": dict(common, format="lines", text_field="dns.question.name"),
            "pcaphunt": dict(common, format="csv", header=True, fields={"SLD": "dns.question.name"},
                             label_column="DGA", skip=["Entropy", "Character Distribution", "SLD length",
                                                        "Domain length", "TTL", "Age"]),
            "top-sites": dict(common, format="json_array", fields={"rootDomain": "dns.question.name"}),
        },
        "training": {"train": {"dataset": "dga", "split": "train",
                               "files": [fam(f) for f in TRAIN_FAMILIES] + benign_train,
                               "note": "5 DGA families; first 80% of each benign list"}},
        "evaluation": [
            {"dataset": "dga", "split": "families-held-out", "held_out": HELD_OUT,
             "files": [fam(f) for f in HELD_OUT] + benign_test,
             "note": "DGA families never seen in training (cryptolocker, matsnu, zeus) vs the last 20% of each benign list"},
            {"dataset": "dga", "split": "pcaphunt-cross",
             "files": [part({"path": f"{D}/pcaphunt_dataset_sample.zip", "mapping": "pcaphunt"}, 0.8, 1.0)],
             "note": "cross-dataset: last 20% of the Pcaphunt sample (Bambenek-feed DGA, none used in training; its benign rows share the list with training)"},
        ],
        "threshold": 0.5,
    }


def fit(X, y):
    import lightgbm as lgb
    m = lgb.LGBMClassifier(n_estimators=60, num_leaves=15, max_depth=6, learning_rate=0.1,
                           class_weight="balanced", random_state=SEED, deterministic=True,
                           n_jobs=1, verbose=-1)
    m.fit(X, y)
    return m


def main():
    d = draft()
    dp = draft_path(NAME)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    y = np.array([l == "dga" for l in meta["label"]], dtype=int)
    log(f"{NAME}: {X.shape[0]} rows x {X.shape[1]} features, {y.sum()} dga")
    # Validation: a seeded, stratified 20% of the training rows. Tried
    # first and rejected: a leave-one-family-out validation (rovnix: the
    # dictionary DGA scores below benign names, AUC 0.12, and the threshold
    # collapses; tinba: threshold 0.12 and 22% benign false positives).
    # With attacks far below 1% of DNS traffic, a threshold set where
    # benign names are rarely flagged is the useful one; unseen families
    # are measured on the test split instead.
    rng = np.random.RandomState(SEED)
    raw = np.array(meta["raw_label"])
    val = rng.rand(len(y)) < 0.2
    m = fit(X[~val], y[~val])
    score = m.predict_proba(X[val])[:, 1]
    th, ba = threshold_balanced(y[val], score)
    rep = binary_report(y[val], score, th)
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score(y[val], score)
    log(f"{NAME}: val threshold {th} balanced acc {ba:.4f} auc {auc:.4f} {rep}")
    model = fit(X, y)
    mdir = os.path.join(MODELS, NAME, VERSION)
    os.makedirs(mdir, exist_ok=True)
    outs = export(model, X.shape[1], "lightgbm", os.path.join(mdir, "model.onnx"))
    finish(d, mdir, outs, X.shape[1], 2, "tree_ensemble", th,
           {"balanced_accuracy": ba, "roc_auc": auc, **rep},
           "LightGBM binary, 60 trees, <=15 leaves, depth <=6, balanced class weights", libs(),
           "seeded random 20% of the training rows (families held out are measured on the test split)")


if __name__ == "__main__":
    main()
