"""cic-ids2017-flow-common: a flow classifier on the features CICFlowMeter
records and Zeek's conn log share, trained on CIC-IDS2017 and tested also
on Stratosphere Zeek logs (issue #15's cross-dataset figure for the
CIC-IDS2017 models, whose own ~80 CICFlowMeter statistics no other dataset
here carries).

Shared features: packets each way and payload bytes each way.
CICFlowMeter's "Total Length of Fwd/Bwd Packet" sums payload lengths, as
Zeek's orig_bytes/resp_bytes do (the fields the gateway's Zeek normaliser
fills), so the Zeek side maps those. The transport protocol is a number in
CIC-IDS2017 and a name in Zeek, and durations differ in unit (microseconds,
seconds, and nanoseconds in the live normaliser): neither is a feature.

Train: per class, the first 70% of its flows by capture time (the split of
cic-ids2017-flow); test: the last 30%, and, never seen in training, the
labelled Zeek conn logs of Stratosphere scenarios 008 and 012 (Benign vs
Malicious External-Attack-to-Device, i.e. Internet scans and attacks on
an exposed host; Background rows left out): split
"zeek-stratosphere:cross:portscan", PortScan being the overlapping class.
Served only to replays of these datasets (applies_to.sourcetypes).
Threshold: balanced accuracy on a seeded 20% of the training rows
(validation model fit on the other 80%).
"""
import cic
import unsw

NAME, VERSION = "cic-ids2017-flow-common", "1.0.0"
NUM = ["source.packets", "destination.packets", "source.bytes", "destination.bytes"]


def draft():
    base = cic.draft()
    m = dict(base["datasets"]["cic"])
    m["fields"] = dict(m["fields"], **{"Total Fwd Packet": "source.packets", "Total Bwd packets": "destination.packets",
                                        "Total Length of Fwd Packet": "source.bytes",
                                        "Total Length of Bwd Packet": "destination.bytes"})
    m["label_map"] = {"BENIGN": "benign"}
    m["label_default"] = "attack"
    z = dict(unsw.draft()["datasets"]["zeek-conn-tsv"])
    z["fields"] = dict(z["fields"], orig_bytes="source.bytes", resp_bytes="destination.bytes")
    del z["fields"]["orig_ip_bytes"], z["fields"]["resp_ip_bytes"]
    files = [dict(f, mapping="cic-common") for f in base["training"]["train"]["files"]]
    return {
        "name": NAME, "version": VERSION,
        "description": ("Flow classifier on the features CICFlowMeter records and Zeek conn logs share (packets and payload bytes "
                        "each way); score = P(attack). Trained on CIC-IDS2017 only, tested also on Stratosphere Zeek logs."),
        "applies_to": {"classes": ["flow"], "sourcetypes": ["cicflowmeter", "zeek-stratosphere-conn"],
                       "require_fields": ["source.packets", "destination.packets"]},
        "features": {"features": [{"name": f, "kind": "numeric", "field": f, "transforms": [{"op": "log1p"}]} for f in NUM]},
        "labels": ["benign", "attack"], "benign": "benign",
        "categories": {"attack": {"id": "TA0043", "name": "Network attack or reconnaissance (CIC-IDS2017 classes)"}},
        "datasets": {"cic-common": m, "zeek-conn-tsv": z},
        "training": {"train": dict(base["training"]["train"], files=files)},
        "evaluation": [
            dict(base["evaluation"][0], files=files),
            {"dataset": "zeek-stratosphere", "split": "zeek-stratosphere:cross:portscan",
             "files": [{"path": p, "mapping": "zeek-conn-tsv", "filter": ["Benign", "Malicious"]} for p in unsw.ZEEK],
             "note": ("cross-dataset: Stratosphere scenarios 008 and 012 (Zeek conn logs of an Internet-exposed host), Benign vs "
                      "Malicious External-Attack-to-Device (scans and attacks from the Internet); never used in training")},
        ],
        "threshold": 0.5,
    }


def main():
    unsw.train(NAME, VERSION, draft, "cic_common")

if __name__ == "__main__":
    main()
