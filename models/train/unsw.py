"""unsw-nb15-flow: a flow classifier on the features UNSW-NB15 and Zeek's
conn log share, so it can be tested on another dataset (issue #15's
cross-dataset figure).

Shared features (what both an Argus/Bro-derived UNSW-NB15 row and a Zeek
conn record carry with the same meaning): packets and IP-level bytes each
way, and the transport protocol. UNSW-NB15's sbytes/dbytes count IP bytes
(smean = sbytes/spkts includes headers), so the Zeek side maps
orig_ip_bytes/resp_ip_bytes, not the payload orig_bytes. Ports are not in
UNSW-NB15's training-set CSV and durations differ in unit between the CSV
and the gateway's Zeek normaliser (seconds vs nanoseconds), so neither is a
feature.

Train: the first 70% of each attack category of UNSW_NB15_training-set.csv
(file order); test: the last 30% ("test"), and, never seen in training, the
labelled Zeek conn logs of Stratosphere scenarios 008 and 012 (an
Internet-exposed host: Benign vs Malicious "External-Attack-to-Device",
i.e. scans and attacks from the Internet; Background rows left out), split
"zeek-stratosphere:cross:recon" since UNSW-NB15's Reconnaissance and
Generic categories are the overlapping classes. Served only to events of those two
datasets' sourcetypes (applies_to.sourcetypes), never to live traffic.
Threshold: balanced
accuracy on a seeded 20% of the training rows (validation model fit on the
other 80%), as the other classifiers.
"""
import os

import numpy as np

from common import (SEED, MODELS, binary_report, draft_path, export, features, finish, libs, log,
                    threshold_balanced, write_json)

NAME, VERSION = "unsw-nb15-flow", "1.0.0"
UNSW = "unsw-nb15/UNSW_NB15_training-set.csv.zip"
ZEEK = ["zeek-stratosphere/008-zeek-mixed__conn.log.labeled.gz", "zeek-stratosphere/012-zeek-mixed__conn.log.labeled.gz"]
ZEEK_COLS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
             "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
             "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "label", "detailedlabel"]
NUM = ["source.packets", "destination.packets", "source.bytes", "destination.bytes"]


def draft():
    unsw_labels = {"Normal": "benign"}
    return {
        "name": NAME, "version": VERSION,
        "description": ("Flow classifier on the features UNSW-NB15 and Zeek conn logs share (packets and IP bytes each way, "
                        "transport); score = P(attack). Trained on UNSW-NB15 only, tested also on Stratosphere Zeek logs."),
        # Only replays of its own datasets: this model exists for the
        # cross-dataset figure and is not fit for live Zeek traffic (its card
        # shows why), so live events (other sourcetypes) never reach it.
        "applies_to": {"classes": ["flow"], "sourcetypes": ["unsw-nb15", "zeek-stratosphere-conn"],
                       "require_fields": ["source.packets", "destination.packets"]},
        "features": {"features": [
            *[{"name": f, "kind": "numeric", "field": f, "transforms": [{"op": "log1p"}]} for f in NUM],
            {"name": "transport", "kind": "categorical", "field": "network.transport", "lower": True,
             "vocab": ["tcp", "udp", "icmp"], "other": True}]},
        "labels": ["benign", "attack"], "benign": "benign",
        "categories": {"attack": {"id": "TA0043", "name": "Network attack or reconnaissance (UNSW-NB15 categories)"}},
        "datasets": {
            "unsw": {"class": "flow", "sourcetype": "unsw-nb15", "format": "csv", "header": True, "prefix": "unsw.",
                     "fields": {"spkts": "source.packets", "dpkts": "destination.packets", "sbytes": "source.bytes",
                                "dbytes": "destination.bytes", "proto": "network.transport"},
                     "label_column": "attack_cat", "label_map": unsw_labels, "label_default": "attack"},
            "zeek-conn-tsv": {"class": "flow", "sourcetype": "zeek-stratosphere-conn", "format": "csv", "delimiter": "\t", "comment": "#",
                              "columns": ZEEK_COLS, "prefix": "zeek.",
                              "fields": {"orig_pkts": "source.packets", "resp_pkts": "destination.packets",
                                         "orig_ip_bytes": "source.bytes", "resp_ip_bytes": "destination.bytes",
                                         "proto": "network.transport"},
                              "skip": ["detailedlabel", "tunnel_parents"],
                              "label_column": "label", "label_map": {"Benign": "benign", "Malicious": "attack"}},
        },
        "training": {"train": {"dataset": "unsw-nb15", "split": "train",
                               "files": [{"path": UNSW, "mapping": "unsw", "select": {"from": 0, "to": 0.7, "per_group": True}}],
                               "note": "first 70% of each attack category of UNSW_NB15_training-set.csv"}},
        "evaluation": [
            {"dataset": "unsw-nb15", "split": "test",
             "files": [{"path": UNSW, "mapping": "unsw", "select": {"from": 0.7, "to": 1.0, "per_group": True}}],
             "note": "last 30% of each attack category of UNSW_NB15_training-set.csv"},
            {"dataset": "zeek-stratosphere", "split": "zeek-stratosphere:cross:recon",
             "files": [{"path": p, "mapping": "zeek-conn-tsv", "filter": ["Benign", "Malicious"]} for p in ZEEK],
             "note": ("cross-dataset: Stratosphere scenarios 008 and 012 (Zeek conn logs of an Internet-exposed host), Benign vs "
                      "Malicious External-Attack-to-Device (scans and attacks from the Internet); never used in training")},
        ],
        "threshold": 0.5,
    }


def fit(X, y):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    m = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16, 8), alpha=1e-4, max_iter=60,
                                                      random_state=SEED, batch_size=256, learning_rate_init=1e-3))
    m.fit(X, y)
    return m


def train(name, version, draft, target):
    """Fits the classifier of draft() (a manifest draft whose training
    files label rows "attack"), sets its threshold on a seeded 20% of the
    training rows, refits on all of them and writes name/version: the
    procedure unsw-nb15-flow and cic-ids2017-flow-common share. target is
    its `make -C models` target."""
    d = draft()
    dp = draft_path(name)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    y = np.array([l == "attack" for l in meta["label"]], dtype=int)
    log(f"{name}: {X.shape[0]} rows x {X.shape[1]} features, {y.sum()} attack")
    val = np.random.RandomState(SEED).rand(len(y)) < 0.2
    m = fit(X[~val], y[~val])
    score = m.predict_proba(X[val])[:, 1]
    th, ba = threshold_balanced(y[val], score)
    rep = binary_report(y[val], score, th)
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score(y[val], score)
    log(f"{name}: val threshold {th} balanced acc {ba:.4f} auc {auc:.4f} {rep}")
    model = fit(X, y)
    mdir = os.path.join(MODELS, name, version)
    os.makedirs(mdir, exist_ok=True)
    outs = export(model, X.shape[1], "sklearn", os.path.join(mdir, "model.onnx"))
    man = finish(d, mdir, outs, X.shape[1], 2, "mlp", th, {"balanced_accuracy": ba, "roc_auc": auc, **rep},
                 "MLP 16-8 (scikit-learn, standardised inputs, log1p counters), 60 epochs", libs(),
                 "seeded random 20% of the training rows (validation model fit on the other 80%)")
    man["training"]["command"] = f"make -C models {target}  (models/train/{target}.py)"
    write_json(os.path.join(mdir, "manifest.json"), man)


def main():
    train(NAME, VERSION, draft, "unsw")

if __name__ == "__main__":
    main()
