"""The fair baseline of `bench/slurm.py`: what a skilled pandas user writes to get GPU-hours by
phase from `sacct --parsable2 --allocations` output and a rules file like
`examples/slurm/rules.yaml` (read, drop job steps and unfinished jobs, parse Elapsed and the
AllocTRES GPU count with regexes, classify by the rules in order, move failed jobs, group by
phase, kind and GPU model). No validation, no line numbers, no campaign documents.

Run: python bench/slurm_script.py SACCT RULES
"""

import fnmatch
import sys

import pandas as pd
import yaml

COLUMNS = {"job_name": "JobName", "account": "Account", "user": "User", "partition": "Partition", "comment": "Comment", "wckey": "WCKey", "qos": "QOS"}
FAILED = ["FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"]


def main(path: str, rules_path: str) -> pd.Series:
    df = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False)
    df = df[~df["JobID"].str.contains(".", regex=False)]
    df = df[~df["End"].isin(["Unknown", "None", ""]) & ~df["Start"].isin(["Unknown", "None", ""])]
    e = df["Elapsed"].str.extract(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$").astype(float)
    seconds = e[0].fillna(0) * 86400 + e[1].fillna(0) * 3600 + e[2] * 60 + e[3]
    untyped = df["AllocTRES"].str.extract(r"gres/gpu=(\d+)")[0].astype(float)
    typed = df["AllocTRES"].str.extract(r"gres/gpu:[^=,]+=(\d+)")[0].astype(float)
    gpus = untyped.fillna(typed).fillna(0.0)
    df = df.assign(seconds=seconds, gpu_hours=gpus * seconds / 3600, state=df["State"].str.split(" ").str[0])[gpus > 0]
    rules = yaml.safe_load(open(rules_path))
    phase = pd.Series("unclassified", index=df.index)
    kind = pd.Series(rules.get("unclassified_kind", "debugging"), index=df.index)
    free = pd.Series(True, index=df.index)
    for rule in rules["rules"]:
        hit = free.copy()
        for field, pattern in rule["match"].items():
            regex = pattern[1:-1] if len(pattern) > 1 and pattern[0] == pattern[-1] == "/" else r"\A" + fnmatch.translate(pattern)
            hit &= df[COLUMNS[field]].str.contains(regex, regex=True)
        phase[hit], kind[hit] = rule["phase"], rule["kind"]
        free &= ~hit
    failed = df["state"].isin(FAILED) | ((df["state"] == "CANCELLED") & (df["seconds"] >= 60 * rules.get("failed_min_minutes", 10)))
    phase[failed] = phase[failed] + " (failed or restarted)"
    kind[failed] = "failed or restarted run"
    gpu = df["Partition"].map({k: v["gpu"] for k, v in rules["partitions"].items()})
    table = df.groupby([phase, kind, gpu])["gpu_hours"].sum()
    print(len(df), round(float(table.sum()), 3))
    return table


if __name__ == "__main__":
    main(*sys.argv[1:3])
