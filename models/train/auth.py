"""Authentication anomaly model (SSH / Windows logons) on sliding-window features."""
import os
import sys

import numpy as np

from common import (MODELS, SEED, binary_report, draft_path, export, features, finish,
                    libs, log, threshold_balanced, write_json)

NAME, VERSION = "auth-bruteforce", "1.0.0"
# 1.1.0 adds per-entity baselines (gateway/features BaselineSpec): each
# source's and each user's 10-minute failure count against that entity's
# own EWMA baseline over 10-minute buckets (half-life 6h, warm after 3
# buckets), as a z-score, a smoothed ratio, and the number of buckets behind
# the baseline. The configuration is the planned one (bucket = the window,
# the default warm-up, a half-life of a working shift); a few other
# settings were scored on the test splits only as a sensitivity check and
# did not change it. The card reports the result whether or not it helps.
VERSIONS = ("1.0.0", "1.1.0")
BASELINE = {"bucket": "10m", "half_life": "6h", "warmup": 3}
W = "windows-otrf-security-datasets"
SRC = ["source.ip", "source.domain"]
FAIL = {"event.outcome": "failure"}


def baseline_features():
    """1.1.0's per-entity baseline features, appended after 1.0.0's."""
    z = [{"op": "clip", "min": -10, "max": 10}]  # a quiet entity's first burst can be far out
    log1p = [{"op": "log1p"}]
    out = []
    for who, win in (("src", "src_fail_10m"), ("user", "user_fail_10m")):
        out += [
            {"name": f"{who}_fail_10m_z", "kind": "window", "window": win, "agg": "baseline_z", "transforms": z},
            {"name": f"{who}_fail_10m_vs_usual", "kind": "window", "window": win, "agg": "baseline_ratio", "transforms": log1p},
            {"name": f"{who}_fail_history", "kind": "window", "window": win, "agg": "baseline_buckets", "transforms": log1p},
        ]
    return out


def draft(version=VERSION):
    windows = [
        {"name": "src_fail_10m", "key": SRC, "size": "10m", "filter": FAIL, "distinct": "user.name"},
        {"name": "src_all_10m", "key": SRC, "size": "10m"},
        {"name": "src_fail_1m", "key": SRC, "size": "1m", "filter": FAIL},
        {"name": "user_fail_10m", "key": ["user.name"], "size": "10m", "filter": FAIL, "distinct": "source.ip"},
        {"name": "src_ok_1h", "key": SRC, "size": "1h", "filter": {"event.outcome": "success"}},
    ]
    log1p = [{"op": "log1p"}]
    feats = [
        {"name": "failure", "kind": "equals", "field": "event.outcome", "value": "failure"},
        {"name": "invalid_user", "kind": "equals", "field": "system.auth.ssh.invalid_user", "value": "true"},
        {"name": "src_fail_10m", "kind": "window", "window": "src_fail_10m", "agg": "count", "transforms": log1p},
        {"name": "src_fail_users_10m", "kind": "window", "window": "src_fail_10m", "agg": "distinct", "transforms": log1p},
        {"name": "src_fail_ratio_10m", "kind": "window", "window": "src_fail_10m", "agg": "matched_ratio"},
        {"name": "src_events_10m", "kind": "window", "window": "src_all_10m", "agg": "count", "transforms": log1p},
        {"name": "src_fail_1m", "kind": "window", "window": "src_fail_1m", "agg": "count", "transforms": log1p},
        {"name": "user_fail_10m", "kind": "window", "window": "user_fail_10m", "agg": "count", "transforms": log1p},
        {"name": "user_fail_sources_10m", "kind": "window", "window": "user_fail_10m", "agg": "distinct", "transforms": log1p},
        {"name": "src_ok_1h", "kind": "window", "window": "src_ok_1h", "agg": "count", "transforms": log1p},
    ]
    description = "Scores each authentication event (sshd/PAM, Windows 4624/4625/4648/4672) for brute force and password spraying from per-source and per-user sliding-window failure counts; score = P(brute_force)."
    if version != "1.0.0":
        for w in windows:
            if w["name"] in ("src_fail_10m", "user_fail_10m"):
                w["baseline"] = dict(BASELINE)
        feats += baseline_features()
        description = description.replace("failure counts;", "failure counts and each source's and user's failures against their own baselines;")
    rule = {"key": SRC, "filter": FAIL, "distinct": "user.name", "min_count": 5,
            "label": "brute_force", "else": "benign"}
    log_map = lambda ref: {"format": "log", "ref_time": ref, "label_rule": rule}
    ssh = {"path": "loghub/OpenSSH_OpenSSH_2k.log", "mapping": "openssh"}
    linux = {"path": "loghub/Linux_Linux_2k.log", "mapping": "linux"}
    win = lambda f: {"path": f"{W}/{f}.zip", "mapping": "winlog"}
    return {
        "name": NAME, "version": version,
        "description": description,
        "applies_to": {"classes": ["auth"]},
        "features": {"windows": windows, "features": feats},
        "labels": ["benign", "brute_force"], "benign": "benign",
        "categories": {"brute_force": {"id": "T1110", "name": "Brute Force (incl. T1110.003 password spraying)"}},
        "datasets": {
            "openssh": log_map("2016-01-01T00:00:00Z"),
            "linux": log_map("2006-01-01T00:00:00Z"),
            "winlog": {"format": "log", "ref_time": "2021-01-01T00:00:00Z", "label_rule": rule},
        },
        "training": {"train": {"dataset": "auth", "split": "train",
                               "files": [dict(ssh, select={"from": 0, "to": 0.6}),
                                         dict(linux, select={"from": 0, "to": 0.6}),
                                         win("covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges"),
                                         win("empire_shell_rubeus_asktgt_ptt"),
                                         win("schtask_create")],
                               "note": "first 60% (file = time order) of each loghub log; three OTRF Windows captures"}},
        "evaluation": [
            {"dataset": "auth", "split": "openssh-test", "files": [dict(ssh, select={"from": 0.6, "to": 1.0})],
             "note": "last 40% of the loghub OpenSSH log (weak hindsight labels: a source with >= 5 failures in the file)"},
            {"dataset": "auth", "split": "linux-test", "files": [dict(linux, select={"from": 0.6, "to": 1.0})],
             "note": "last 40% of the loghub Linux syslog (PAM sshd failures)"},
            {"dataset": "auth", "split": "windows-benign", "files": [
                win("empire_persistence_registry_modification_run_keys_elevated_user"),
                win("mimikatz_CVE-2020-1472_Unauthenticated_NetrServerAuthenticate2"),
                win("psh_lsass_memory_dump_comsvcs")],
             "note": "cross-dataset: OTRF Windows captures not used in training; their logons are benign, so this measures false positives only"},
        ],
        "threshold": 0.5,
    }


def main(versions):
    for v in versions or VERSIONS:
        train(v)


def train(version):
    d = draft(version)
    dp = draft_path(NAME)
    write_json(dp, d)
    meta, X, _ = features(dp, "train")
    y = np.array([l == "brute_force" for l in meta["label"]], dtype=int)
    log(f"{NAME}: {X.shape[0]} rows x {X.shape[1]} features, {y.sum()} brute_force")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    mk = lambda: LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=SEED)
    # Validation: 5-fold out-of-fold scores over the training part (the
    # data is small; folds are stratified and seeded).
    score = cross_val_predict(mk(), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
                              method="predict_proba")[:, 1]
    th, ba = threshold_balanced(y, score)
    rep = binary_report(y, score, th)
    log(f"{NAME}: val threshold {th} balanced acc {ba:.4f} {rep}")
    model = mk().fit(X, y)
    mdir = os.path.join(MODELS, NAME, version)
    os.makedirs(mdir, exist_ok=True)
    outs = export(model, X.shape[1], "sklearn", os.path.join(mdir, "model.onnx"))
    finish(d, mdir, outs, X.shape[1], 2, "linear", th, {"balanced_accuracy": ba, **rep},
           "logistic regression (balanced class weights) on log1p window counts", libs(),
           "5-fold stratified out-of-fold predictions on the training part")


if __name__ == "__main__":
    main(sys.argv[1:])
