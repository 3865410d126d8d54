"""NSL-KDD network-flow classifier (trained on KDDTrain+ only)."""
import os
import zipfile

import numpy as np

from common import (DATA, MODELS, SEED, binary_report, draft_path, export, features,
                    finish, libs, log, threshold_balanced, write_json)

NAME, VERSION = "nsl-kdd-flow", "1.0.0"

COLUMNS = """duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent
hot num_failed_logins logged_in num_compromised root_shell su_attempted num_root
num_file_creations num_shells num_access_files num_outbound_cmds is_host_login is_guest_login
count srv_count serror_rate srv_serror_rate rerror_rate srv_rerror_rate same_srv_rate
diff_srv_rate srv_diff_host_rate dst_host_count dst_host_srv_count dst_host_same_srv_rate
dst_host_diff_srv_rate dst_host_same_src_port_rate dst_host_srv_diff_host_rate
dst_host_serror_rate dst_host_srv_serror_rate dst_host_rerror_rate dst_host_srv_rerror_rate
label difficulty""".split()

# Attack name -> the classic four categories (Tavallaee et al. 2009), including
# the attack types that appear only in the test sets.
GROUPS = {}
for g, names in {
    "DoS": "back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm",
    "Probe": "ipsweep nmap portsweep satan mscan saint",
    "R2L": "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster sendmail "
           "named snmpgetattack snmpguess xlock xsnoop worm httptunnel",
    "U2R": "buffer_overflow loadmodule perl rootkit ps sqlattack xterm",
}.items():
    for n in names.split():
        GROUPS[n] = g
GROUPS["normal"] = "normal"

# Heavy-tailed counters get a sign-preserving log1p so the MLP sees
# comparable scales (src_bytes spans 0..1e9).
LOG1P = set("""duration src_bytes dst_bytes wrong_fragment urgent hot num_failed_logins
num_compromised num_root num_file_creations num_shells num_access_files num_outbound_cmds
count srv_count dst_host_count dst_host_srv_count""".split())
CATEGORICAL = ["protocol_type", "service", "flag"]
# The attack types of KDDTest+ absent from KDDTrain+ (the zero-day split);
# listed from the test file's labels only to name that split.
TEST_ONLY = ["apache2", "httptunnel", "mailbomb", "mscan", "named", "processtable", "ps",
             "saint", "sendmail", "snmpgetattack", "snmpguess", "sqlattack", "udpstorm",
             "worm", "xlock", "xsnoop", "xterm"]
TRAIN = "nsl-kdd/KDDTrain+_full.zip"


def vocab():
    """Categorical vocabularies from KDDTrain+ (training data only)."""
    seen = {c: set() for c in CATEGORICAL}
    with zipfile.ZipFile(os.path.join(DATA, TRAIN)) as z:
        with z.open(z.namelist()[0]) as f:
            for line in f:
                parts = line.decode().strip().split(",")
                for c in CATEGORICAL:
                    seen[c].add(parts[COLUMNS.index(c)])
    return {c: sorted(v) for c, v in seen.items()}


def draft():
    voc = vocab()
    feats = []
    for c in COLUMNS[:-2]:
        if c in CATEGORICAL:
            feats.append({"name": c, "kind": "categorical", "field": "kdd." + c,
                          "vocab": voc[c], "other": True})
        else:
            f = {"name": c, "kind": "numeric", "field": "kdd." + c}
            if c in LOG1P:
                f["transforms"] = [{"op": "log1p"}]
            feats.append(f)
    labels = ["normal", "DoS", "Probe", "R2L", "U2R"]
    mapping = {
        "format": "csv", "class": "flow", "sourcetype": "nsl-kdd", "columns": COLUMNS,
        "prefix": "kdd.", "label_column": "label", "skip": ["difficulty"],
        "label_map": GROUPS, "group_map": GROUPS,
    }
    return {
        "name": NAME, "version": VERSION,
        "description": "Flow classifier on NSL-KDD's 41 connection features: normal vs DoS, Probe, R2L, U2R; score = 1 - P(normal).",
        "applies_to": {"classes": ["flow"], "require_fields": ["kdd.service", "kdd.src_bytes"]},
        "features": {"features": feats},
        "labels": labels, "benign": "normal",
        "categories": {
            "DoS": {"id": "T1498", "name": "Network Denial of Service"},
            "Probe": {"id": "T1046", "name": "Network Service Discovery"},
            "R2L": {"id": "T1110", "name": "Brute Force (remote-to-local access attempts)"},
            "U2R": {"id": "T1068", "name": "Exploitation for Privilege Escalation"},
        },
        "datasets": {"nsl-kdd": mapping},
        "training": {"train": {"dataset": "nsl-kdd", "split": "KDDTrain+",
                               "files": [{"path": TRAIN, "mapping": "nsl-kdd"}]}},
        "evaluation": [
            {"dataset": "nsl-kdd", "split": "KDDTest+", "files": [{"path": "nsl-kdd/KDDTest+.txt", "mapping": "nsl-kdd"}]},
            {"dataset": "nsl-kdd", "split": "KDDTest-21", "files": [{"path": "nsl-kdd/KDDTest-21.txt", "mapping": "nsl-kdd"}]},
            {"dataset": "nsl-kdd", "split": "KDDTest+:zero-day:17-test-only-types",
             "files": [{"path": "nsl-kdd/KDDTest+.txt", "mapping": "nsl-kdd", "filter": ["normal"] + TEST_ONLY}],
             "held_out": TEST_ONLY,
             "note": "normal rows of KDDTest+ and the 17 attack types that occur only in the test sets"},
        ],
        "threshold": 0.5,
    }


def fit(X, y, hp):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    m = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=hp["hidden"], alpha=hp["alpha"], max_iter=hp["epochs"],
        early_stopping=False, random_state=SEED, batch_size=256, learning_rate_init=1e-3))
    m.fit(X, y)
    return m


# Attack types held out of the model that picks the threshold, to imitate
# the test sets' unseen attacks ("novelty validation"); chosen a priori as
# one per category plus the largest R2L types, never by looking at test data.
NOVEL = {"warezclient", "guess_passwd", "satan", "back", "buffer_overflow", "imap"}


def main():
    d = draft()
    dp = draft_path(NAME)
    write_json(dp, d)
    meta, X, names = features(dp, "train")
    raw = np.array(meta["raw_label"])
    labels = d["labels"]
    y = np.array([labels.index(l) for l in meta["label"]])
    log(f"{NAME}: {X.shape[0]} rows x {X.shape[1]} features")
    rng = np.random.RandomState(SEED)
    hp = {"hidden": (64, 32), "alpha": 1e-3, "epochs": 30}

    # Validation from KDDTrain+ only: 20% random rows plus every row of the
    # NOVEL attack types; the threshold model never sees either.
    novel = np.isin(raw, list(NOVEL))
    val = (rng.rand(len(y)) < 0.2) | novel
    m = fit(X[~val], y[~val], hp)
    p = m.predict_proba(X[val])
    score = 1 - p[:, 0]
    yb = y[val] != 0
    t, ba = threshold_balanced(yb, score)
    rep = binary_report(yb, score, t)
    rep_novel = binary_report(yb[novel[val]], score[novel[val]], t)
    log(f"{NAME}: threshold {t:.4f} balanced acc {ba:.4f} val {rep} novel-only tpr {rep_novel['tpr']:.3f}")

    model = fit(X, y, hp)
    mdir = os.path.join(MODELS, NAME, VERSION)
    os.makedirs(mdir, exist_ok=True)
    outs = export(model, X.shape[1], "sklearn", os.path.join(mdir, "model.onnx"))
    finish(d, mdir, outs, X.shape[1], len(labels), "mlp", t,
           {"balanced_accuracy": ba, **rep, "novel_attack_tpr": rep_novel["tpr"],
            "novel_attack_types": sorted(NOVEL)},
           "MLP 64-32 (ReLU, Adam, L2 1e-3, 30 epochs) on standardised features; threshold by balanced accuracy on a novelty validation split",
           libs(),
           "20% random rows of KDDTrain+ plus all rows of attack types " + ", ".join(sorted(NOVEL)) +
           " held out of a validation model with the same hyper-parameters; the served model is refit on all of KDDTrain+")


if __name__ == "__main__":
    main()
