"""Retrain a committed model on authentic data: a verified evidence bundle.

    python from_bundle.py --model auth-bruteforce --bundle B.jsonl.gz --labels L.csv --version 1.1.0

The bundle (written by `ledgerguard export`) is verified by the Go command
exactly as `ledgerguard verify` does; if anything fails, nothing is trained
(BundleRefused, exit status 1). Its events are run through the model's own
feature spec in seq order, as live scoring runs them; only labelled rows
(--labels, --default-label) are used. The model's algorithm and
hyper-parameters are those of its training script (ALGORITHMS below), with
one exception: dns-dga is refit with the LightGBM of dga.py (1.0.0/1.1.0)
over the base version's features; for 1.2.0 that is the surprisal under
its committed character language model, which a retrain does not refit
(dga_lm.py fits it on the public benign lists). The threshold is chosen
by balanced accuracy on stratified out-of-fold predictions. The new model is
written to models/<name>/<version>/ (or --out) with the bundle's and the
labels file's sha256 recorded as its training data. The base model's
directory is never touched.
"""
import argparse
import copy
import json
import os
import shlex
import sys

import numpy as np

from common import (MODELS, SEED, BundleError, binary_report, export, features, libs, log,
                    matrix_from_bundle, model_section, sha256_file, threshold_balanced,
                    write_json)


def _auth_fit(X, y):
    # As auth.py.
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=SEED).fit(X, y)


def _dga_fit(X, y):
    import dga
    return dga.fit(X, y)


def _cic_fit(X, y):
    import cic
    return cic.fit(X, y, len(cic.LABELS))


def _nslkdd_fit(X, y):
    import nslkdd
    return nslkdd.fit(X, y, {"hidden": (64, 32), "alpha": 1e-3, "epochs": 30})


# name -> (fit(X, y), manifest model kind, ONNX exporter)
ALGORITHMS = {
    "auth-bruteforce": (_auth_fit, "linear", "sklearn"),
    "dns-dga": (_dga_fit, "tree_ensemble", "lightgbm"),
    "cic-ids2017-flow": (_cic_fit, "tree_ensemble", "lightgbm"),
    "nsl-kdd-flow": (_nslkdd_fit, "mlp", "sklearn"),
}


def _version_key(v):
    return [int(p) if p.isdigit() else p for p in v.split(".")]


def latest_version(name, models=MODELS):
    d = os.path.join(models, name)
    vs = [v for v in os.listdir(d) if os.path.isfile(os.path.join(d, v, "manifest.json"))]
    if not vs:
        raise SystemExit(f"from_bundle: no version of {name} under {d}")
    return max(vs, key=_version_key)


def labelled(meta, X, labels):
    """Rows with a label, as (X, y) with y the index in the manifest's labels."""
    keep = np.array([l != "" for l in meta["label"]], dtype=bool)
    bad = sorted({l for l in meta["label"] if l and l not in labels})
    if bad:
        raise SystemExit(f"from_bundle: labels {bad} are not the model's labels {labels}")
    y = np.array([labels.index(l) for l, k in zip(meta["label"], keep) if k], dtype=int)
    return X[keep], y


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(ALGORITHMS), help="model name")
    ap.add_argument("--models", default=MODELS, help="models directory holding the base version (default: the repository's)")
    ap.add_argument("--from", dest="base", help="base version whose features and settings are used (default: the highest)")
    ap.add_argument("--bundle", required=True, action="append",
                    help="evidence bundle from `ledgerguard export` (repeat for several; each must verify)")
    ap.add_argument("--labels", help="event id -> label file (CSV event_id,label or JSON object)")
    ap.add_argument("--default-label", help="label of the bundle's events --labels does not list (e.g. the benign label)")
    ap.add_argument("--version", required=True, help="version of the new model (a new directory)")
    ap.add_argument("--out", help="output directory (default models/<model>/<version>)")
    ap.add_argument("--with-train", action="store_true",
                    help="also train on the base model's public training split (needs the data directory)")
    ap.add_argument("--ledger-arg", action="append", default=[], metavar="ARG",
                    help="passed to `ledgerguard features`, e.g. --ledger-arg=--online --ledger-arg=--profile=P --ledger-arg=--identity=auditor")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if not a.labels and not a.default_label:
        raise SystemExit("from_bundle: --labels (and/or --default-label) is required: nothing to learn from unlabelled events")
    base_version = a.base or latest_version(a.model, a.models)
    base_dir = os.path.join(a.models, a.model, base_version)
    base_path = os.path.join(base_dir, "manifest.json")
    with open(base_path) as f:
        base = json.load(f)
    out = a.out or os.path.join(a.models, a.model, a.version)
    if os.path.exists(out):
        raise SystemExit(f"from_bundle: {out} exists; choose a new --version (or --out)")

    labels, benign = base["labels"], base["benign"]
    # Every bundle is verified (by the Go command) before any is used.
    parts_X, parts_y, files, shas, nb = [], [], [], [], 0
    for bundle in a.bundle:
        meta, X, names, sha = matrix_from_bundle(base_path, bundle, a.labels, a.default_label, a.ledger_arg)
        Xb, yb = labelled(meta, X, labels)
        log(f"{a.model}: bundle {sha}: {X.shape[0]} rows, {len(yb)} labelled")
        parts_X.append(Xb)
        parts_y.append(yb)
        shas.append(sha)
        nb += len(yb)
        files.append({"path": "evidence/" + os.path.basename(bundle), "sha256": sha, "mapping": "evidence-bundle"})
    sha = ", ".join(shas)
    if a.labels:
        files.append({"path": "evidence/" + os.path.basename(a.labels), "sha256": sha256_file(a.labels),
                      "mapping": "event-labels"})
    if a.with_train:
        meta0, X0, _ = features(base_path, "train")
        X0, y0 = labelled(meta0, X0, labels)
        parts_X.append(X0)
        parts_y.append(y0)
        files += base["training"].get("files", [])
        log(f"{a.model}: plus {len(y0)} rows of the public training split")
    X, y = np.concatenate(parts_X), np.concatenate(parts_y)
    missing = [labels[i] for i in range(len(labels)) if not (y == i).any()]
    if missing:
        raise SystemExit(f"from_bundle: no labelled row of class {missing}: the model must see every label of {labels}")

    fit, kind, exporter = ALGORITHMS[a.model]
    from sklearn.model_selection import StratifiedKFold
    k = min(5, int(np.bincount(y).min()))
    if k < 2:
        raise SystemExit("from_bundle: every label needs at least two labelled rows (for validation)")
    bi = labels.index(benign)
    score = np.zeros(len(y))
    for tr, va in StratifiedKFold(k, shuffle=True, random_state=SEED).split(X, y):
        score[va] = 1 - fit(X[tr], y[tr]).predict_proba(X[va])[:, bi]
    th, ba = threshold_balanced(y != bi, score)
    rep = binary_report(y != bi, score, th)
    log(f"{a.model}: threshold {th} balanced acc {ba:.4f} {rep}")

    model = fit(X, y)
    os.makedirs(out)
    outs = export(model, X.shape[1], exporter, os.path.join(out, "model.onnx"))
    m = copy.deepcopy(base)
    m["version"] = a.version
    # A cascaded base (cic-ids2017-flow 1.3.0) keeps its screen in its own
    # directory: its threshold was chosen against the base's full graph, not
    # this one, so the retrained version is served unscreened (every row
    # through the new graph) until the cascade is rebuilt for it.
    m.pop("screen", None)
    m["model"] = model_section(out, outs, X.shape[1], len(labels), kind)
    m["threshold"] = round(float(th), 4)
    src = ("a verified evidence bundle" if len(shas) == 1 else f"{len(shas)} verified evidence bundles") + (" and the public training split of " + base_version if a.with_train else "")
    m["training"] = {
        "algorithm": base["training"]["algorithm"] + f" (retrained from {base_version} on {src})",
        "library": libs(), "seed": SEED,
        "train": {"dataset": "evidence-bundle", "split": "train", "files": files,
                  "note": f"events of evidence bundle(s) sha256 {sha}, verified by `ledgerguard features --bundle` "
                          f"before use; {nb} labelled rows"},
        "validation": f"{k}-fold stratified out-of-fold predictions on the labelled rows",
        "files": files,
        "command": "models/train/from_bundle.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])),
    }
    m["metrics"] = {"validation": {"balanced_accuracy": ba, **rep}}
    write_json(os.path.join(out, "manifest.json"), m)
    log(f"{a.model}: wrote {out}; evaluate it with `bin/ledgerguard models eval --model {a.model}` "
        f"(the highest version under --models), register it with `bin/ledgerguard models register {out}`")


if __name__ == "__main__":
    try:
        main()
    except BundleError as e:
        log(f"from_bundle: {e}")
        sys.exit(1)
