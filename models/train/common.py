"""Shared plumbing of the ledgerguard training pipeline.

Feature matrices always come from the Go feature engine
(`ledgerguard features --split ...`, or `--bundle` for a verified evidence
bundle exported from the ledger), never from Python code, so training and
serving cannot disagree. Python only fits, exports ONNX, and writes the
manifest. Everything is seeded; re-running gives the same models.
"""
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np

SEED = 20261125
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")
LG = os.environ.get("LG_BIN", os.path.join(ROOT, "bin", "ledgerguard"))
DATA = os.environ.get("LEDGERGUARD_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))
# ONNX opsets ORT 1.24.1 accepts: default domain <= 25, ai.onnx.ml <= 4.
OPSET = {"": 15, "ai.onnx.ml": 3}  # onnxmltools 1.16 converts up to opset 15


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def features(manifest_path, split):
    """Run the Go feature engine on a manifest split; return (meta, X, names)."""
    out = subprocess.run(
        [LG, "features", "--manifest", manifest_path, "--split", split, "--data", DATA],
        check=True, capture_output=True, text=True,
    ).stdout
    return parse_matrix(out)


def parse_matrix(out):
    """Parse the CSV `ledgerguard features` writes: (meta, X, names), meta
    holding the six leading columns (row, file, raw_label, label, group,
    time) by name."""
    r = csv.reader(io.StringIO(out))
    header = next(r)
    rows = list(r)
    meta = {k: [row[i] for row in rows] for i, k in enumerate(header[:6])}
    X = np.array([[float(v) for v in row[6:]] for row in rows], dtype=np.float32)
    return meta, X.reshape(len(rows), len(header) - 6), header[6:]


class BundleError(RuntimeError):
    """`ledgerguard features --bundle` failed (exit status in .returncode,
    its stderr in .stderr)."""

    def __init__(self, message, returncode=None, stderr=""):
        super().__init__(message)
        self.returncode, self.stderr = returncode, stderr


class BundleRefused(BundleError):
    """The evidence bundle does not verify: the Go command refused to compute
    features from it, and nothing may be trained on it."""


def matrix_from_bundle(manifest_path, bundle, labels=None, default_label=None, ledger_args=None):
    """Feature matrix of a verified evidence bundle (`ledgerguard export`).

    Runs `ledgerguard features --manifest M --bundle B [--labels L]`, which
    verifies the bundle exactly as `ledgerguard verify` does and computes the
    features of its events (in seq order, as live scoring does; events the
    model does not apply to are skipped). labels is a file mapping event id
    to label (CSV with event_id,label columns, or JSON {"<id>": "<label>"});
    default_label labels the events it does not list; without either the
    label columns are empty. ledger_args, e.g. ["--online", "--profile", P,
    "--identity", "auditor"], are passed through to also check the bundle
    against the live ledger.

    Returns (meta, X, names, sha256): as features(), meta["row"] holding each
    event's seq and meta["file"] its id, and sha256 the bundle file's hash as
    verified. Raises BundleRefused when the bundle fails verification and
    BundleError for any other failure (bad labels, unreadable bundle...), or
    if the file changed after it was verified.
    """
    cmd = [LG, "features", "--manifest", manifest_path, "--bundle", bundle]
    if labels:
        cmd += ["--labels", labels]
    if default_label:
        cmd += ["--default-label", default_label]
    cmd += list(ledger_args or [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        err = p.stderr.strip()
        if "refusing to compute features from a bundle that fails verification" in err:
            raise BundleRefused(f"evidence bundle {bundle} does not verify; refusing to train on it:\n{err}",
                                p.returncode, p.stderr)
        raise BundleError(f"ledgerguard features --bundle {bundle} failed (exit {p.returncode}):\n{err}",
                          p.returncode, p.stderr)
    m = re.search(r"bundle sha256 ([0-9a-f]{64}) verified", p.stderr)
    if not m:
        raise BundleError(f"ledgerguard features did not report the bundle's sha256:\n{p.stderr}",
                          p.returncode, p.stderr)
    sha = m.group(1)
    if sha256_file(bundle) != sha:
        raise BundleError(f"evidence bundle {bundle} changed after it was verified", p.returncode, p.stderr)
    log(p.stderr.strip())
    meta, X, names = parse_matrix(p.stdout)
    return meta, X, names, sha


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def draft_path(name):
    d = os.path.join(MODELS, ".build")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name + ".draft.json")


def threshold_balanced(y_true, score):
    """Threshold maximising balanced accuracy (TPR + TNR) on a validation set.
    Candidates are the distinct scores, rounded to 1e-4, within (0, 1]."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    cands = np.unique(np.clip(np.round(s, 4), 1e-4, 1.0))
    best_t, best = 0.5, -1.0
    P, N = max(y.sum(), 1), max((~y).sum(), 1)
    for t in cands:
        f = s >= t
        ba = (f & y).sum() / P + (~f & ~y).sum() / N
        if ba > best + 1e-12:
            best, best_t = ba, float(t)
    return best_t, best / 2


def binary_report(y_true, score, t):
    y = np.asarray(y_true).astype(bool)
    f = np.asarray(score) >= t
    tp, fp = int((f & y).sum()), int((f & ~y).sum())
    fn, tn = int((~f & y).sum()), int((~f & ~y).sum())
    return {
        "n": int(len(y)), "accuracy": (tp + tn) / max(len(y), 1),
        "tpr": tp / max(tp + fn, 1), "fpr": fp / max(fp + tn, 1),
        "threshold": t,
    }


def export(model, n_features, kind, path):
    """Export to ONNX with a float32 [N, n] input named "input" and a
    float32 [N, classes] "probabilities" output (ZipMap off)."""
    if kind == "lightgbm":
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType
        types = [("input", FloatTensorType([None, n_features]))]
        onx = onnxmltools.convert_lightgbm(model, initial_types=types, zipmap=False,
                                           target_opset=OPSET[""])
    else:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
        types = [("input", FloatTensorType([None, n_features]))]
        onx = convert_sklearn(model, initial_types=types,
                              options={id(model): {"zipmap": False}}, target_opset=OPSET)
    # Deterministic bytes: no producer version churn in the hash.
    # (the converters name the graph with a random uuid; fix it).
    onx.producer_version = ""
    onx.doc_string = ""
    onx.graph.name = "ledgerguard"
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    outs = [o.name for o in onx.graph.output]
    assert "probabilities" in outs, outs
    return outs


def finish(draft, model_dir, outs, n_features, classes, kind, threshold, metrics, algorithm, libs, validation):
    """Write manifest.json beside model.onnx from the draft."""
    m = dict(draft)
    m["model"] = model_section(model_dir, outs, n_features, classes, kind)
    m["threshold"] = round(float(threshold), 4)
    files = []
    for f in draft["training"]["train"]["files"]:
        p = os.path.join(DATA, f["path"])
        files.append({"path": f["path"], "sha256": sha256_file(p), "mapping": f["mapping"]})
    m["training"] = dict(draft["training"], algorithm=algorithm, library=libs, seed=SEED,
                         validation=validation, files=files,
                         command="make -C models  (models/train/train.py)")
    m["metrics"] = {"validation": metrics}
    write_json(os.path.join(model_dir, "manifest.json"), m)
    return m


def model_section(model_dir, outs, n_features, classes, kind):
    """The manifest's "model" section for model_dir/model.onnx."""
    onnx_path = os.path.join(model_dir, "model.onnx")
    return {
        "file": "model.onnx", "sha256": sha256_file(onnx_path), "kind": kind,
        "opset": OPSET[""], "size": os.path.getsize(onnx_path),
        "inputs": [{"name": "input", "shape": [-1, n_features], "type": "float32"}],
        "outputs": [{"name": o, "shape": [-1] if o == "label" else [-1, classes],
                     "type": "int64" if o == "label" else "float32"} for o in outs],
        "score_output": "probabilities",
    }


def libs():
    import sklearn, lightgbm, skl2onnx, onnx
    return ["scikit-learn " + sklearn.__version__, "lightgbm " + lightgbm.__version__,
            "skl2onnx " + skl2onnx.__version__, "onnx " + onnx.__version__]
